// What the browser tests share: where wsd and Chromium are, free ports, and
// starting and stopping a wsd. Not a test file (node --test runs
// ./*.test.mjs only). tests/node imports its process helpers too (repo,
// bin, rootFlags, freePort, canConnect, sleep, pick): keep this file to
// Node's own modules, no npm package.
// Knobs: WSD_BIN (default build/wsd, relative to the repo root),
//        CHROMIUM (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const bin = path.resolve(repo, process.env.WSD_BIN || 'build/wsd');
// As root (CI), wsd refuses to run programs without --user or --allowroot (#13).
export const rootFlags = process.getuid && process.getuid() === 0 ? ['--allowroot'] : [];
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
export const logDir = path.join(repo, 'build', 'test-logs');

// --disable-background-networking & co: otherwise Chromium tries to reach
// the (closed) network for updates, field trials and sync.
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function canConnect(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

export function pick(obj, keys) {
  const out = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

// Writes an executable script into `dir` and returns its path.
export function script(dir, name, body) {
  const p = path.join(dir, name);
  fs.writeFileSync(p, body, { mode: 0o755 });
  return p;
}

// Starts wsd on a free 127.0.0.1 port with `args` (flags, then COMMAND
// ARGS...); its environment is PATH, the sanitizers' options and `env`.
export async function startWsd(args, env = {}) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const proc = spawn(bin, ['--address=127.0.0.1', `--port=${port}`, ...rootFlags, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        ...pick(process.env, ['ASAN_OPTIONS', 'UBSAN_OPTIONS']),
        ...env,
      },
    });
    let log = '';
    proc.stdout.on('data', (d) => { log += d; });
    proc.stderr.on('data', (d) => { log += d; });
    const srv = { port, proc, log: () => log, exited: null };
    proc.once('exit', (code, sig) => { srv.exited = { code, sig }; });
    proc.once('error', (e) => { srv.exited = { code: null, sig: null, error: e.message }; });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && srv.exited === null) {
      if (await canConnect(port)) return srv;
      await sleep(20);
    }
    await stopWsd(srv);
    // Exit status 3 is websocketd's "could not listen": the free port was taken meanwhile.
    if (srv.exited?.code !== 3) throw new Error(`wsd did not start (${JSON.stringify(srv.exited)}): ${log}`);
  }
  throw new Error('wsd did not start: port races');
}

// SIGTERM, and SIGKILL if it has not exited after killAfterMs.
export async function stopWsd(srv, killAfterMs = 2000) {
  const { proc } = srv;
  if (proc.exitCode !== null || proc.signalCode !== null || srv.exited?.error) return;
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
  await done;
  clearTimeout(t);
}
