// End-to-end tests of wsd in a real browser: Debian's headless Chromium,
// driven by playwright-core, runs `new WebSocket(...)` in a page.
// Run: cd tests/browser && npm ci && node --test
// Knobs: WSD_BIN (default build/wsd, relative to the repo root),
//        CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumPath, logDir, CHROMIUM_ARGS, sleep, script, startWsd, stopWsd } from './harness.mjs';


// The page every test runs in: a harness that opens the WebSocket, records
// every event in window.T and shows each one in a <pre> (for the screenshot).
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>wsd browser test</title>
<style>
  body { font: 15px/1.35 "DejaVu Sans Mono", monospace; margin: 12px; background: #fff; color: #111; }
  h1 { font: bold 16px "DejaVu Sans", sans-serif; margin: 0 0 8px; }
  pre { border: 1px solid #999; background: #f4f4f4; padding: 6px 8px; margin: 0; min-height: 2em; }
</style></head>
<body><h1 id="title">wsd: received WebSocket messages</h1><pre id="log"></pre>
<script>
  window.T = { events: [], msgs: [], close: null, errors: 0 };
  const show = (s) => { document.getElementById('log').textContent += s + '\\n'; };
  const short = (s) => s.length > 60 ? s.slice(0, 60) + '… (' + s.length + ' chars)' : s;
  window.openWs = (url) => new Promise((resolve) => {
    document.getElementById('title').textContent = 'wsd: messages from ' + url;
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    window.ws = ws;
    ws.onopen = () => { T.events.push('open'); show('[open]'); resolve(true); };
    ws.onmessage = (e) => {
      T.events.push('message');
      if (typeof e.data === 'string') {
        T.msgs.push({ text: e.data });
        show('message ' + T.msgs.length + ': ' + JSON.stringify(short(e.data)));
      } else {
        const isArrayBuffer = e.data instanceof ArrayBuffer;
        const bytes = isArrayBuffer ? Array.from(new Uint8Array(e.data)) : [];
        T.msgs.push({ binary: bytes, isArrayBuffer, type: Object.prototype.toString.call(e.data) });
        show('binary message ' + T.msgs.length + ': ' + bytes.length + ' bytes');
      }
    };
    ws.onerror = () => { T.errors++; T.events.push('error'); show('[error]'); resolve(false); };
    ws.onclose = (e) => {
      T.close = { code: e.code, reason: e.reason, wasClean: e.wasClean };
      T.events.push('close');
      show('[close ' + e.code + ' ' + JSON.stringify(e.reason) + ' wasClean=' + e.wasClean + ']');
      resolve(false);
    };
  });
</script></body></html>`;

// Runs `body` with a fresh wsd (started with `wsdArgs(tmpdir)`) and a fresh
// Chromium showing PAGE; always stops both and removes the temp dirs.
async function session(wsdArgs, body) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsd-browser-'));
  const profile = path.join(tmp, 'profile');
  let srv = null;
  let ctx = null;
  const consoleLines = [];
  try {
    srv = await startWsd(wsdArgs(tmp));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 640, height: 360 },
      timeout: 20000,
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    await page.setContent(PAGE);
    const url = `ws://127.0.0.1:${srv.port}/`;
    const h = {
      page, srv, tmp, url, consoleLines,
      // Opens the socket; resolves once it is open (fails the test otherwise).
      open: async () => {
        const ok = await page.evaluate((u) => window.openWs(u), url);
        if (!ok) throw new Error(`WebSocket did not open: ${JSON.stringify(await state(page))}; console: ${consoleLines.join(' | ')}; wsd: ${srv.log()}`);
      },
      waitFor: async (what, fn, arg, ms = 5000) => {
        try {
          await page.waitForFunction(fn, arg, { timeout: ms, polling: 20 });
        } catch (e) {
          const st = JSON.stringify(await state(page).catch(() => null));
          throw new Error(`${what}: not within ${ms} ms; page state: ${st.slice(0, 2000)}; console: ${consoleLines.join(' | ')}; wsd: ${srv.log()}`);
        }
      },
      state: () => state(page),
    };
    await body(h);
    assert.equal(srv.exited, null, `wsd exited during the test: ${JSON.stringify(srv.exited)}: ${srv.log()}`);
  } finally {
    if (ctx) {
      const closed = await Promise.race([ctx.close().then(() => true, () => true), sleep(10000).then(() => false)]);
      if (!closed) console.error('warning: Chromium did not close within 10 s');
    }
    if (srv) await stopWsd(srv);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const state = (page) => page.evaluate(() => window.T);
const texts = (st) => st.msgs.map((m) => m.text);

const T_OPTS = { timeout: 30000 };

test('count: lines 1..5 become messages, then close 1000', T_OPTS, async () => {
  await session((tmp) => [script(tmp, 'count.sh', '#!/bin/sh\nfor i in 1 2 3 4 5; do echo "$i"; done\n')], async (h) => {
    await h.open();
    await h.waitFor('close', () => window.T.close !== null);
    const st = await h.state();
    assert.deepEqual(texts(st), ['1', '2', '3', '4', '5']);
    assert.deepEqual(st.events, ['open', 'message', 'message', 'message', 'message', 'message', 'close']);
    assert.deepEqual(st.close, { code: 1000, reason: '', wasClean: true });
    assert.equal(st.errors, 0);
    fs.mkdirSync(logDir, { recursive: true });
    await h.page.screenshot({ path: path.join(logDir, 'browser-count.png') });
  });
});

test('text echo through cat: "hello" and a 100 KB message', T_OPTS, async () => {
  await session(() => ['/bin/cat'], async (h) => {
    await h.open();
    await h.page.evaluate(() => window.ws.send('hello'));
    await h.waitFor('echo of "hello"', () => window.T.msgs.length >= 1);
    assert.deepEqual(texts(await h.state()), ['hello']);

    // 100 KB (102400 chars) with varying content, including a 2-byte UTF-8 char per line.
    const big = await h.page.evaluate(() => {
      let s = '';
      for (let i = 0; s.length < 102400; i++) s += `line ${i} é ` + 'x'.repeat(i % 50) + ' ';
      s = s.slice(0, 102400);
      window.big = s;
      window.ws.send(s);
      return s;
    });
    assert.equal(big.length, 102400);
    await h.waitFor('echo of the 100 KB message', () => window.T.msgs.length >= 2);
    const same = await h.page.evaluate(() => window.T.msgs[1].text === window.big);
    const st = await h.state();
    assert.equal(st.msgs.length, 2, 'the 100 KB message must arrive as one message');
    assert.equal(st.msgs[1].text.length, 102400);
    assert.ok(same, 'the 100 KB echo differs from what was sent');
    assert.equal(st.close, null);
    assert.equal(st.errors, 0);

    await h.page.evaluate(() => window.ws.close(1000));
    await h.waitFor('close', () => window.T.close !== null);
    assert.deepEqual((await h.state()).close, { code: 1000, reason: '', wasClean: true });
  });
});

test('program exiting with status 3: close 1011 "exited with status 3"', T_OPTS, async () => {
  await session((tmp) => [script(tmp, 'exit3.sh', '#!/bin/sh\nexit 3\n')], async (h) => {
    await h.open();
    await h.waitFor('close', () => window.T.close !== null);
    const st = await h.state();
    assert.deepEqual(st.msgs, []);
    assert.deepEqual(st.close, { code: 1011, reason: 'exited with status 3', wasClean: true });
    assert.equal(st.errors, 0);
  });
});

test('invalid UTF-8 from the program reaches Chromium as U+FFFD', T_OPTS, async () => {
  // Chromium fails the connection (close 1006, onerror) on a text frame that is not
  // valid UTF-8, so receiving "a\uFFFDb" and a clean close proves wsd sanitises.
  const body = "#!/bin/bash\nprintf 'a\\xffb\\n'\nsleep 0.2\necho after\n";
  await session((tmp) => [script(tmp, 'badutf8.sh', body)], async (h) => {
    await h.open();
    await h.waitFor('close', () => window.T.close !== null);
    const st = await h.state();
    assert.deepEqual(texts(st), ['a\uFFFDb', 'after']);
    assert.deepEqual(st.close, { code: 1000, reason: '', wasClean: true });
    assert.equal(st.errors, 0);
    assert.deepEqual(h.consoleLines.filter((l) => /WebSocket/i.test(l)), []);
  });
});

test('--binary with cat: 256 bytes 0..255 come back as ArrayBuffer', T_OPTS, async () => {
  await session(() => ['--binary', '/bin/cat'], async (h) => {
    await h.open();
    await h.page.evaluate(() => {
      const a = new Uint8Array(256);
      for (let i = 0; i < 256; i++) a[i] = i;
      window.ws.send(a);
    });
    // Binary mode is a byte stream: wsd may split it into several messages.
    await h.waitFor('256 echoed bytes',
      () => window.T.msgs.reduce((n, m) => n + (m.binary ? m.binary.length : 0), 0) >= 256);
    const st = await h.state();
    for (const m of st.msgs) {
      assert.ok(m.binary, `expected binary messages, got ${JSON.stringify(m).slice(0, 200)}`);
      assert.ok(m.isArrayBuffer, `expected an ArrayBuffer, got ${m.type}`);
    }
    const bytes = st.msgs.flatMap((m) => m.binary);
    assert.deepEqual(bytes, Array.from({ length: 256 }, (_, i) => i));
    assert.equal(st.close, null);
    assert.equal(st.errors, 0);
    await h.page.evaluate(() => window.ws.close(1000));
    await h.waitFor('close', () => window.T.close !== null);
    assert.deepEqual((await h.state()).close, { code: 1000, reason: '', wasClean: true });
  });
});

test('page closes the socket: the child is terminated', T_OPTS, async () => {
  // The child ignores stdin, so only wsd's signals can end it; its trap leaves a marker.
  let marker;
  const mk = (tmp) => {
    marker = path.join(tmp, 'child-signalled');
    return [script(tmp, 'linger.sh',
      `#!/bin/bash\ntrap 'echo signalled > ${marker}; exit 0' INT TERM HUP\n` +
      'echo "pid $$"\nwhile :; do sleep 0.05; done\n')];
  };
  await session(mk, async (h) => {
    await h.open();
    await h.waitFor('pid message', () => window.T.msgs.length >= 1);
    const m = /^pid (\d+)$/.exec(texts(await h.state())[0]);
    assert.ok(m, 'first message is the child pid');
    const pid = Number(m[1]);
    assert.ok(alive(pid), 'child is running before the close');

    const t0 = Date.now();
    await h.page.evaluate(() => window.ws.close(1000));
    await h.waitFor('close', () => window.T.close !== null);
    assert.deepEqual((await h.state()).close, { code: 1000, reason: '', wasClean: true });
    while (alive(pid) && Date.now() - t0 < 3000) await sleep(20);
    assert.ok(!alive(pid), `child ${pid} still running 3 s after ws.close(1000)`);
    assert.ok(fs.existsSync(marker), "child's INT/TERM trap did not run (killed with SIGKILL?)");
  });
});

function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code === 'ESRCH') return false;
    throw e;
  }
  // An unreaped zombie still counts as alive here (wsd must reap its children).
  return true;
}

test('final line without newline is sent before the close', T_OPTS, async () => {
  await session((tmp) => [script(tmp, 'nonl.sh', "#!/bin/sh\nprintf 'first\\nlast-no-newline'\n")], async (h) => {
    await h.open();
    await h.waitFor('close', () => window.T.close !== null);
    const st = await h.state();
    assert.deepEqual(texts(st), ['first', 'last-no-newline']);
    assert.deepEqual(st.events, ['open', 'message', 'message', 'close']);
    assert.deepEqual(st.close, { code: 1000, reason: '', wasClean: true });
    assert.equal(st.errors, 0);
  });
});
