// --devconsole in a real browser: Debian's headless Chromium (playwright-core)
// loads wsd's console page over plain HTTP and uses its UI like a person
// would — connect, type a message, press Send — and the page shows the
// script's reply and the close code.
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


// A script that echoes each line with a prefix; "bye" makes it exit with 3.
const ECHO = '#!/bin/sh\nwhile read -r l; do echo "echo: $l"; [ "$l" = bye ] && exit 3; done\n';

// Runs `body` with wsd --devconsole serving ECHO and a fresh Chromium.
async function session(body) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsd-console-'));
  let srv = null;
  let ctx = null;
  const consoleLines = [];
  try {
    srv = await startWsd(['--devconsole', script(tmp, 'echo.sh', ECHO)]);
    ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: chromiumPath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 720, height: 420 },
      timeout: 20000,
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    const base = `http://127.0.0.1:${srv.port}`;
    const logText = () => page.locator('#log').innerText();
    const waitLog = async (what, locator, ms = 5000) => {
      try {
        await locator.first().waitFor({ timeout: ms });
      } catch (e) {
        throw new Error(`${what}: not within ${ms} ms; page log: ${await logText().catch(() => '?')}; console: ${consoleLines.join(' | ')}; wsd: ${srv.log()}`);
      }
    };
    await body({ page, srv, base, waitLog, logText, consoleLines, dialogs });
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

const T_OPTS = { timeout: 60000 };

test('devconsole: connect, send a message, see the reply and the close codes', T_OPTS, async () => {
  await session(async ({ page, srv, base, waitLog, logText, consoleLines }) => {
    const resp = await page.goto(`${base}/`);
    assert.equal(resp.status(), 200);
    assert.equal(resp.headers()['content-type'], 'text/html; charset=utf-8');
    assert.equal(await page.title(), 'wsd console');
    // the URL field is built by the page's script from location
    assert.equal(await page.inputValue('#url'), `ws://127.0.0.1:${srv.port}/`);

    await page.click('#connect');
    await waitLog('open', page.locator('#log .info', { hasText: /^\d\d:\d\d:\d\dopen$/ }));
    assert.equal(await page.locator('#state').innerText(), 'open');

    await page.fill('#msg', 'hello from Chromium');
    await page.click('#send');
    await waitLog('the reply', page.locator('#log .in', { hasText: 'echo: hello from Chromium' }));
    assert.match(await logText(), /→ hello from Chromium/);

    // a second message sent with Enter
    await page.fill('#msg', 'second é ünïcode');
    await page.press('#msg', 'Enter');
    await waitLog('the second reply', page.locator('#log .in', { hasText: 'echo: second é ünïcode' }));

    // the script exits with 3 on "bye": close 1011 with wsd's reason
    await page.fill('#msg', 'bye');
    await page.click('#send');
    await waitLog('close 1011', page.locator('#log .close[data-code="1011"]'));
    const closeRow = await page.locator('#log .close').first().innerText();
    assert.match(closeRow, /closed: code 1011, reason "exited with status 3"/);
    assert.equal(await page.locator('#state').innerText(), 'closed');
    assert.ok(await page.locator('#send').isDisabled(), 'Send stays disabled while closed');

    // reconnect and close from the page: 1000
    await page.click('#connect');
    await waitLog('reopened', page.locator('#log .info', { hasText: /open$/ }).nth(1));
    await page.click('#disconnect');
    await waitLog('close 1000', page.locator('#log .close[data-code="1000"]'));

    fs.mkdirSync(logDir, { recursive: true });
    await page.screenshot({ path: path.join(logDir, 'browser-devconsole.png') });
    assert.deepEqual(consoleLines.filter((l) => l.startsWith('pageerror')), []);
    assert.match(srv.log(), /\| ACCESS \| http +\| url:'http:\/\/127\.0\.0\.1:\d+\/' .*\| DEVCONSOLE\n/);
  });
});

test('devconsole: a script-injecting URL is never executed or reflected', T_OPTS, async () => {
  await session(async ({ page, srv, base, dialogs, consoleLines }) => {
    const evil = '/%22%3E%3Cscript%3Ewindow.pwned%3D1%3C/script%3E'
      + '?q=%22%3E%3Cimg%20src=x%20onerror=window.pwned=2%3E&x="><script>window.pwned=3</script>';
    const resp = await page.goto(base + evil);
    assert.equal(resp.status(), 200);
    await sleep(300);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    assert.deepEqual(dialogs, []);
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('script').count(), 1, 'only the page\'s own script');
    const html = await resp.text();
    assert.ok(!html.includes('pwned'), 'the request URL appears in the HTML');
    // the URL field holds the address as text (percent-encoded by the browser)
    const v = await page.inputValue('#url');
    assert.ok(v.startsWith(`ws://127.0.0.1:${srv.port}/%22%3E%3Cscript%3E`), v);
    assert.deepEqual(consoleLines.filter((l) => l.startsWith('pageerror')), []);
  });
});
