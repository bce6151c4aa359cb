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
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { repo, chromiumPath, logDir, CHROMIUM_ARGS, sleep, startWsd, stopWsd } from './harness.mjs';



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
