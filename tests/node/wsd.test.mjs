// End-to-end tests of wsd with the `ws` client (what a Node.js user runs).
// Run: cd tests/node && node --test   (WSD_BIN overrides build/wsd)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
// where wsd is, --allowroot as root, free ports (node builtins only)
import { bin, canConnect, freePort, pick, repo, rootFlags, sleep } from '../browser/harness.mjs';
const child = path.resolve(repo, process.env.WSD_CHILD || 'build/tests/child');
const servers = [];

// Starts wsd on a free port with `args` (flags, then COMMAND ARGS...).
async function startWsd(args) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const proc = spawn(bin, [`--port=${port}`, '--address=127.0.0.1', '--closems=0', ...rootFlags, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...pick(process.env, ['ASAN_OPTIONS', 'UBSAN_OPTIONS']) },
    });
    let stderr = '';
    proc.stdout.on('data', () => {});
    proc.stderr.on('data', (d) => { stderr += d; });
    let exited = null;
    proc.once('exit', (code) => { exited = code; });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && exited === null) {
      if (await canConnect(port)) {
        const srv = { port, proc, stderr: () => stderr };
        servers.push(srv);
        return srv;
      }
      await sleep(20);
    }
    proc.kill('SIGKILL');
    if (exited !== 3) throw new Error(`wsd did not start (exit ${exited}): ${stderr}`);
  }
  throw new Error('wsd did not start: port races');
}

after(async () => {
  for (const s of servers) {
    if (s.proc.exitCode === null && s.proc.signalCode === null) {
      const done = new Promise((r) => s.proc.once('exit', r));
      s.proc.kill('SIGTERM');
      const t = setTimeout(() => s.proc.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    }
  }
});

// ws.received: every text message from the start. ws emits the messages
// that came in the same read as the handshake's response right after
// 'open', before an await on open() returns: a listener added then misses
// them.
function open(port, p = '/') {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${p}`);
    ws.received = [];
    ws.on('message', (d) => ws.received.push(d.toString()));
    ws.closing = new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message within 3 s')), 3000);
    ws.once('message', (data, isBinary) => { clearTimeout(t); resolve({ data, isBinary }); });
  });
}

function closed(ws) {
  let t;
  const late = new Promise((_, reject) => { t = setTimeout(() => reject(new Error('not closed within 5 s')), 5000); });
  return Promise.race([ws.closing, late]).finally(() => clearTimeout(t));
}

test('echo text through cat', { timeout: 15000 }, async () => {
  const srv = await startWsd(['/bin/cat']);
  const ws = await open(srv.port);
  for (const s of ['hello', '', 'héllo ✓ 😀']) {
    ws.send(s);
    const m = await nextMessage(ws);
    assert.equal(m.isBinary, false);
    assert.equal(m.data.toString('utf8'), s);
  }
  ws.close(1000);
  const c = await closed(ws);
  assert.equal(c.code, 1000);
});

test('binary round trip with --binary', { timeout: 15000 }, async () => {
  const srv = await startWsd(['--binary', '/bin/cat']);
  const ws = await open(srv.port);
  const payload = Buffer.alloc(50000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const got = [];
  let total = 0;
  const done = new Promise((resolve) => {
    ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, true);
      got.push(data);
      total += data.length;
      if (total >= payload.length) resolve();
    });
  });
  ws.send(payload);
  await done;
  assert.ok(Buffer.concat(got).equals(payload));
  ws.close();
});

test('close code 1000 when the program exits 0', { timeout: 15000 }, async () => {
  const srv = await startWsd([child, 'exit', '0', 'one', 'two']);
  const ws = await open(srv.port);
  const c = await closed(ws);
  assert.deepEqual(ws.received, ['one', 'two']);
  assert.equal(c.code, 1000);
});

test('close code 1011 when the program exits 3', { timeout: 15000 }, async () => {
  const srv = await startWsd([child, 'exit', '3', 'bye']);
  const ws = await open(srv.port);
  const c = await closed(ws);
  assert.equal(c.code, 1011);
  assert.match(c.reason, /3/);
});

test('ping gets a pong with the same payload', { timeout: 15000 }, async () => {
  const srv = await startWsd([child, 'sleep', '3000']);
  const ws = await open(srv.port);
  const pong = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no pong within 1 s')), 1000);
    ws.once('pong', (data) => { clearTimeout(t); resolve(data.toString()); });
  });
  ws.ping('are you there');
  assert.equal(await pong, 'are you there');
  ws.terminate();
});
