// The console page behind authentication (#13), in a real browser: Debian's
// headless Chromium (playwright-core). A page and its `new WebSocket()`
// cannot add headers, so (docs/security.md):
//   - --htpasswd: the page is behind the same Basic authentication; the
//     browser asks for (here: is given) the credentials when the page loads
//     and sends them again with the WebSocket handshake to the same origin;
//   - --authcmd: a cookie set for the site (by a login page, here by the
//     test) goes with the page and the handshake; the authorizer checks it.
// Run: cd tests/browser && npm ci && node --test
// Knobs: WSD_BIN (default build/wsd, relative to the repo root),
//        CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const bin = path.resolve(repo, process.env.WSD_BIN || 'build/wsd');
// As root (CI), wsd refuses to run programs without --user or --allowroot (#13).
const rootFlags = process.getuid && process.getuid() === 0 ? ['--allowroot'] : [];
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const logDir = path.join(repo, 'build', 'test-logs');

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

function pick(obj, keys) {
  const out = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

function script(dir, name, body) {
  const p = path.join(dir, name);
  fs.writeFileSync(p, body, { mode: 0o755 });
  return p;
}

async function startWsd(args) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const proc = spawn(bin, ['--address=127.0.0.1', `--port=${port}`, ...rootFlags, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...pick(process.env, ['ASAN_OPTIONS', 'UBSAN_OPTIONS']) },
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
    if (srv.exited?.code !== 3) throw new Error(`wsd did not start (${JSON.stringify(srv.exited)}): ${log}`);
  }
  throw new Error('wsd did not start: port races');
}

async function stopWsd(srv) {
  const { proc } = srv;
  if (proc.exitCode !== null || proc.signalCode !== null || srv.exited?.error) return;
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
  await done;
  clearTimeout(t);
}


const ECHO = '#!/bin/sh\nwhile read -r l; do echo "echo $REMOTE_USER: $l"; done\n';
const AUTHORIZER = '#!/bin/sh\ncase "$HTTP_COOKIE" in *session=s3cr3t*) echo REMOTE_USER=carol; exit 0;; esac\nexit 1\n';

async function withBrowser(flags, opts, body) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsd-auth-'));
  let srv = null;
  let ctx = null;
  try {
    const ht = path.join(tmp, 'htpasswd');
    execFileSync('htpasswd', ['-cbB', ht, 'alice', 'wonder land'], { stdio: 'ignore' });
    const auth = script(tmp, 'auth.sh', AUTHORIZER);
    srv = await startWsd(['--devconsole', ...flags({ ht, auth }), script(tmp, 'echo.sh', ECHO)]);
    ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 20000, ...opts,
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    await body({ page, ctx, srv, base: `http://127.0.0.1:${srv.port}` });
    assert.equal(srv.exited, null, `wsd exited during the test: ${srv.log()}`);
  } finally {
    if (ctx) await Promise.race([ctx.close().catch(() => {}), sleep(10000)]);
    if (srv) await stopWsd(srv);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function talk(page, srv, who) {
  await page.click('#connect');
  try {
    await page.locator('#log .info', { hasText: /open$/ }).first().waitFor({ timeout: 5000 });
  } catch (e) {
    throw new Error(`not open: ${await page.locator('#log').innerText()}; wsd: ${srv.log()}`);
  }
  await page.fill('#msg', 'hello');
  await page.click('#send');
  await page.locator('#log .in', { hasText: `echo ${who}: hello` }).first().waitFor({ timeout: 5000 });
}

const T_OPTS = { timeout: 60000 };

test('htpasswd: the console page and its WebSocket with the browser\'s Basic credentials', T_OPTS, async () => {
  await withBrowser(({ ht }) => [`--htpasswd=${ht}`],
    { httpCredentials: { username: 'alice', password: 'wonder land' } },
    async ({ page, srv, base }) => {
      const resp = await page.goto(`${base}/`);
      assert.equal(resp.status(), 200);
      assert.equal(await page.title(), 'wsd console');
      await talk(page, srv, 'alice');
      assert.match(srv.log(), /\| ACCESS \| session +\| .*user:'alice' \| CONNECT\n/);
      assert.match(srv.log(), /Authentication required: 401/);     // the browser's first try
    });
});

test('htpasswd: without credentials no page and no WebSocket', T_OPTS, async () => {
  await withBrowser(({ ht }) => [`--htpasswd=${ht}`], {}, async ({ page, ctx, srv, base }) => {
    // a headless browser cannot ask anyone: the navigation fails on the 401
    await assert.rejects(page.goto(`${base}/`), /ERR_INVALID_AUTH_CREDENTIALS/);
    assert.match(srv.log(), /Authentication required: 401/);
    const blank = await ctx.newPage();
    const opened = await blank.evaluate((url) => new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve('open');
      ws.onerror = () => resolve('error');
    }), `ws://127.0.0.1:${srv.port}/`);
    assert.equal(opened, 'error');
    assert.doesNotMatch(srv.log(), /\| CONNECT\n/);
  });
});

test('authcmd: a session cookie authorizes the page and the WebSocket', T_OPTS, async () => {
  await withBrowser(({ auth }) => [`--authcmd=${auth}`], {}, async ({ page, ctx, srv, base }) => {
    let resp = await page.goto(`${base}/`);
    assert.equal(resp.status(), 403);                 // no cookie yet
    await ctx.addCookies([{ name: 'session', value: 's3cr3t', url: base }]);
    resp = await page.goto(`${base}/`);
    assert.equal(resp.status(), 200);
    await talk(page, srv, 'carol');
    assert.match(srv.log(), /user:'carol' \| CONNECT\n/);
  });
});
