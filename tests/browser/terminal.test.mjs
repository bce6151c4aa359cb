// The web terminal (--pty --devconsole, #15 part 3) in a real browser:
// Debian's headless Chromium (playwright-core) loads the page wsd serves
// (xterm.js embedded in the binary, nothing from the network), types into
// bash like a person would, opens and quits vi, resizes the window and sees
// `tput cols` follow, copies and pastes, and sees the exit status and close
// code when the program ends, then reconnects.
// Run: cd tests/browser && npm ci && node --test terminal.test.mjs
// Knobs: WSD_BIN (default build/wsd), CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumPath, logDir, CHROMIUM_ARGS, sleep, startWsd, stopWsd } from './harness.mjs';


const BASH = ['/bin/bash', '--norc', '--noprofile', '-i'];

// Runs body with `wsd --pty --devconsole CMD` and a fresh Chromium.
async function terminal(cmd, body, viewport = { width: 900, height: 500 }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsd-term-'));
  let srv = null;
  let ctx = null;
  const consoleLines = [];
  try {
    srv = await startWsd(['--closems=0', '--pty', '--devconsole', '--passenv=PATH,PS1,HOME', ...cmd],
      { PS1: 'PROMPT>', HOME: tmp });
    ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, viewport, timeout: 20000,
    });
    const base = `http://127.0.0.1:${srv.port}`;
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    // what the terminal shows: every line of its buffer, trailing blanks cut
    const screen = () => page.evaluate(() => {
      const b = window.wsdTerm.buffer.active, out = [];
      for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
      return out.join('\n');
    });
    const waitScreen = async (rx, what, ms = 8000) => {
      const deadline = Date.now() + ms;
      let s = '';
      while (Date.now() < deadline) {
        s = await screen();
        const m = s.match(rx);
        if (m) return m;
        await sleep(50);
      }
      throw new Error(`${what}: ${rx} not on the screen within ${ms} ms:\n${s}\nconsole: ${consoleLines.join(' | ')}\nwsd: ${srv.log()}`);
    };
    const type = async (text) => {
      await page.locator('.xterm-helper-textarea').focus();
      await page.keyboard.type(text);
    };
    await body({ page, srv, base, screen, waitScreen, type, tmp, requests, consoleLines });
    assert.deepEqual(consoleLines.filter((l) => l.startsWith('pageerror')), []);
    assert.equal(srv.exited, null, `wsd exited during the test: ${srv.log()}`);
  } finally {
    if (ctx) await Promise.race([ctx.close().catch(() => {}), sleep(10000)]);
    if (srv) await stopWsd(srv, 3000);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const T = { timeout: 90000 };

test('web terminal: bash, echo hi, assets from wsd only, exit status and reconnect', T, async () => {
  await terminal(BASH, async ({ page, base, waitScreen, type, requests }) => {
    const resp = await page.goto(`${base}/`);
    assert.equal(resp.status(), 200);
    assert.equal(resp.headers()['content-type'], 'text/html; charset=utf-8');
    await page.locator('#state', { hasText: 'open' }).waitFor({ timeout: 8000 });
    await waitScreen(/PROMPT>$/m, 'the prompt');
    await type('echo hi\n');
    await waitScreen(/^hi$/m, 'hi');
    // every request went to wsd: xterm.js is served by wsd itself
    assert.ok(requests.length >= 4, requests.join(' '));
    for (const u of requests) assert.ok(u.startsWith(base) || u.startsWith(base.replace('http', 'ws')), u);
    assert.ok(requests.some((u) => u.endsWith('/.wsd/xterm.mjs')), requests.join(' '));

    await type('exit 3\n');
    await page.locator('#ended', { hasText: 'exited with status 3 (close 1011)' }).waitFor({ timeout: 8000 });
    assert.equal(await page.locator('#ended').getAttribute('data-code'), '1011');
    await waitScreen(/\[exited with status 3 \(close 1011\)\]/, 'the status in the terminal');
    assert.equal(await page.locator('#state').innerText(), 'closed');

    await page.click('#reconnect');
    await page.locator('#state', { hasText: 'open' }).waitFor({ timeout: 8000 });
    await waitScreen(/PROMPT>$/m, 'a new prompt');
    await type('exit\n');
    await page.locator('#ended', { hasText: 'exited with status 0 (close 1000)' }).waitFor({ timeout: 8000 });
    fs.mkdirSync(logDir, { recursive: true });
    await page.screenshot({ path: path.join(logDir, 'browser-terminal.png') });
  });
});

test('web terminal: open and quit vi', T, async () => {
  await terminal(BASH, async ({ page, base, waitScreen, type, tmp, screen }) => {
    await page.goto(`${base}/`);
    await waitScreen(/PROMPT>$/m, 'the prompt');
    const f = path.join(tmp, 'note.txt');
    await type(`vi -u NONE -i NONE ${f}\n`);
    await waitScreen(/note\.txt/, 'vi drew its screen');
    await waitScreen(/^~\s*$/m, 'vi\'s empty lines');
    await type('ihello from chromium');
    await page.keyboard.press('Escape');
    await sleep(200);
    await type(':wq\n');
    await waitScreen(/PROMPT>$/m, 'back at the prompt');
    assert.equal(fs.readFileSync(f, 'utf8'), 'hello from chromium\n');
    // vi used the alternate screen: the prompt's screen is back, not vi's
    assert.ok(!(await screen()).includes('~   '), 'vi left the alternate screen');
  });
});

test('web terminal: resizing the window changes tput cols', T, async () => {
  await terminal(BASH, async ({ page, base, waitScreen, type }) => {
    await page.goto(`${base}/`);
    await waitScreen(/PROMPT>$/m, 'the prompt');
    const colsOf = () => page.evaluate(() => window.wsdTerm.cols);
    const before = await colsOf();
    await type('echo "cols=$(tput cols) lines=$(tput lines)"\n');
    const m1 = await waitScreen(/^cols=(\d+) lines=(\d+)$/m, 'first size');
    assert.equal(Number(m1[1]), before);
    await page.setViewportSize({ width: 1400, height: 700 });
    const deadline = Date.now() + 5000;
    while (await colsOf() === before && Date.now() < deadline) await sleep(50);
    const after = await colsOf();
    assert.ok(after > before, `the terminal grew: ${before} -> ${after}`);
    await type('clear; echo "cols=$(tput cols) now"\n');
    const m2 = await waitScreen(/^cols=(\d+) now$/m, 'second size');
    assert.equal(Number(m2[1]), after);
  }, { width: 700, height: 400 });
});

test('web terminal: copy the selection, paste text', T, async () => {
  await terminal(BASH, async ({ page, base, waitScreen, type }) => {
    await page.goto(`${base}/`);
    await waitScreen(/PROMPT>$/m, 'the prompt');
    await type('echo copy""me\n');
    await waitScreen(/^copyme$/m, 'the output');
    await page.evaluate(() => window.wsdTerm.selectAll());
    await page.click('#copy');
    // the button's handler writes the clipboard asynchronously: the click
    // returns before it is done, so wait for the clipboard as a user would
    let copied = '';
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(50)) {
      copied = await page.evaluate(() => navigator.clipboard.readText());
      if (/^copyme$/m.test(copied)) break;
    }
    assert.match(copied, /^copyme$/m);
    await page.evaluate(() => navigator.clipboard.writeText('echo pas""ted-ok'));
    await page.click('#paste');
    // the paste is asynchronous too (clipboard read, then the bytes to bash):
    // Enter only once the pasted text is on the prompt line, or bash would
    // run an empty line and leave the paste unsubmitted
    await waitScreen(/PROMPT>echo pas""ted-ok$/m, 'the pasted text at the prompt');
    await page.keyboard.press('Enter');
    await waitScreen(/^pasted-ok$/m, 'the pasted command ran');
  });
});

// --linebuffered (#15 part 1), as a new user tries it: a Python script that
// prints a number a second (no -u, no flush) streams one number a second
// to the console page. Each line carries the time it was printed; it must
// be on the page before the next one is printed, a second later.
test('console page: --linebuffered streams a Python script\'s lines as they are printed', T, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsd-lb-'));
  const py = path.join(tmp, 'count.py');
  fs.writeFileSync(py, 'import time\nfor i in range(3):\n    print(i, time.time())\n    time.sleep(1)\n');
  let srv = null;
  let ctx = null;
  try {
    srv = await startWsd(['--closems=0', '--linebuffered', '--devconsole', '/usr/bin/python3', py], {});
    ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 20000,
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    await page.goto(`http://127.0.0.1:${srv.port}/`);
    // note when each message row appears
    await page.evaluate(() => {
      window.arrivals = [];
      new MutationObserver((ms) => {
        for (const m of ms) {
          for (const n of m.addedNodes) {
            if (n.className === 'in') window.arrivals.push([Date.now(), n.textContent]);
          }
        }
      }).observe(document.getElementById('log'), { childList: true });
    });
    await page.click('#connect');
    await page.locator('#log .close[data-code="1000"]').waitFor({ timeout: 15000 });
    const arrivals = await page.evaluate(() => window.arrivals);
    assert.equal(arrivals.length, 3, JSON.stringify(arrivals));
    arrivals.forEach(([at, text], i) => {
      const m = text.match(/← (\d+) ([\d.]+)$/);
      assert.ok(m, text);
      assert.equal(Number(m[1]), i);
      const delay = at - Number(m[2]) * 1000;
      assert.ok(delay < 1000, `line ${i} shown ${delay} ms after it was printed (buffered)`);
    });
  } finally {
    if (ctx) await Promise.race([ctx.close().catch(() => {}), sleep(10000)]);
    if (srv) await stopWsd(srv, 3000);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
