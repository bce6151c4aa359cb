// --shared in a real browser, as a new user would try it (docs/shared.md):
// three tabs on the console page of `wsd --shared --devconsole
// examples/tail.sh FILE` all see the lines appended to FILE, from one tail;
// and the chat example (examples/chat) works between two browsers
// (separate browser contexts: two people).
// Run: cd tests/browser && npm ci && node --test
// Knobs: WSD_BIN (default build/wsd, relative to the repo root),
//        CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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


const T_OPTS = { timeout: 90000 };

async function browser(tmp) {
  return chromium.launchPersistentContext(path.join(tmp, `profile-${Math.random()}`), {
    executablePath: chromiumPath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 720, height: 420 },
    timeout: 20000,
  });
}

async function closeCtx(ctx) {
  if (ctx) await Promise.race([ctx.close().then(() => true, () => true), sleep(10000)]);
}

test('shared: three console tabs follow one tail of a growing log', T_OPTS, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsd-shared-'));
  const logFile = path.join(tmp, 'app.log');
  fs.writeFileSync(logFile, 'old line\n');
  let srv = null;
  let ctx = null;
  try {
    srv = await startWsd(['--shared', '--devconsole', path.join(repo, 'examples', 'tail.sh'), logFile]);
    ctx = await browser(tmp);
    const base = `http://127.0.0.1:${srv.port}/`;
    const tabs = [];
    for (let i = 0; i < 3; i++) {
      const page = i === 0 && ctx.pages()[0] ? ctx.pages()[0] : await ctx.newPage();
      await page.goto(base);
      await page.click('#connect');
      await page.locator('#log .info', { hasText: /open$/ }).first().waitFor({ timeout: 5000 });
      tabs.push(page);
    }
    await sleep(500);   // tail -F is running for all three
    for (let i = 1; i <= 5; i++) fs.appendFileSync(logFile, `event ${i}\n`);
    for (const [k, page] of tabs.entries()) {
      try {
        await page.locator('#log .in', { hasText: 'event 5' }).waitFor({ timeout: 5000 });
      } catch (e) {
        throw new Error(`tab ${k} did not see event 5: ${await page.locator('#log').innerText()}; wsd: ${srv.log()}`);
      }
      const got = (await page.locator('#log .in').allInnerTexts())
        .map((t) => t.replace(/^\d\d:\d\d:\d\d← /, '')).filter((t) => t.startsWith('event'));
      assert.deepEqual(got, ['event 1', 'event 2', 'event 3', 'event 4', 'event 5'], `tab ${k}`);
    }
    // one program for the three of them
    assert.equal((srv.log().match(/Shared program started/g) || []).length, 1, srv.log());
    fs.mkdirSync(logDir, { recursive: true });
    await tabs[2].screenshot({ path: path.join(logDir, 'browser-shared-tail.png') });
  } finally {
    await closeCtx(ctx);
    if (srv) await stopWsd(srv);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('shared: the chat example between two browsers', T_OPTS, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsd-chat-'));
  let srv = null;
  let alice = null;
  let bob = null;
  try {
    const chat = path.join(repo, 'examples', 'chat');
    srv = await startWsd(['--shared', '--lossless', `--staticdir=${chat}`, path.join(chat, 'chat.py')]);
    const base = `http://127.0.0.1:${srv.port}/`;
    alice = await browser(tmp);
    bob = await browser(tmp);
    const a = alice.pages()[0] || await alice.newPage();
    const b = bob.pages()[0] || await bob.newPage();
    const see = async (page, text, who) => {
      try {
        await page.locator('#log div', { hasText: text }).first().waitFor({ timeout: 5000 });
      } catch (e) {
        throw new Error(`${who} never saw ${JSON.stringify(text)}: ${await page.locator('#log').innerText()}; wsd: ${srv.log()}`);
      }
    };
    const say = async (page, text) => {
      await page.fill('#msg', text);
      await page.press('#msg', 'Enter');
    };
    await a.goto(base);
    await see(a, 'welcome, guest-1', 'alice');
    await say(a, '/nick alice');
    await see(a, 'guest-1 is now alice', 'alice');
    await b.goto(base);
    await see(b, 'welcome, guest-2', 'bob');
    await see(a, 'guest-2 joined', 'alice');
    await say(b, '/nick bob');
    await see(a, 'guest-2 is now bob', 'alice');
    await say(a, 'hello bob');
    await see(b, 'alice: hello bob', 'bob');
    await say(b, '/msg alice just for you');
    await see(a, '(private) bob: just for you', 'alice');
    await say(a, '/who');
    await see(a, 'here: alice, bob', 'alice');
    await b.close();   // bob leaves
    await see(a, 'bob left', 'alice');
    fs.mkdirSync(logDir, { recursive: true });
    await a.screenshot({ path: path.join(logDir, 'browser-shared-chat.png') });
  } finally {
    await closeCtx(alice);
    await closeCtx(bob);
    if (srv) await stopWsd(srv);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
