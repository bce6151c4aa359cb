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
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumPath, CHROMIUM_ARGS, sleep, script, startWsd, stopWsd } from './harness.mjs';



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
