// --redis in a real browser: the three-machine example of
// docs/operations.md ("One program, many machines"), run as written on one
// machine — its "one machine" block (Redis, the program's wsd, three edges)
// and its HAProxy block, only the ports replaced by free ones — and the
// chat page between two Chromium contexts through HAProxy, while the edge
// of one of them is restarted, then Redis.
// Run: cd tests/browser && npm ci && node --test redis.test.mjs
// Knobs: WSD_BIN (default build/wsd), CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  repo, bin, rootFlags, chromiumPath, logDir, CHROMIUM_ARGS, sleep, freePort, canConnect,
} from './harness.mjs';

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

// The ```lang block of docs/operations.md whose first line is "# title".
function docBlock(lang, title) {
  const text = fs.readFileSync(path.join(repo, 'docs', 'operations.md'), 'utf8');
  const rx = new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g');
  for (const m of text.matchAll(rx)) {
    if (m[1].split('\n')[0].trim() === `# ${title}`) return m[1];
  }
  throw new Error(`docs/operations.md has no ${lang} block "# ${title}"`);
}

// A command line of the block: words, '' quoted.
function words(line) {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1] : m[2]));
}

// One process of the example: started, restarted, stopped; its output kept.
class Proc {
  constructor(name, argv, port) {
    Object.assign(this, { name, argv, port, out: '' });
  }

  async start() {
    this.proc = spawn(this.argv[0], this.argv.slice(1), {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        ...Object.fromEntries(['ASAN_OPTIONS', 'UBSAN_OPTIONS'].filter((k) => process.env[k])
          .map((k) => [k, process.env[k]])),
      },
    });
    this.exited = null;
    this.proc.stdout.on('data', (d) => { this.out += d; });
    this.proc.stderr.on('data', (d) => { this.out += d; });
    this.proc.once('exit', (code, sig) => { this.exited = { code, sig }; });
    this.proc.once('error', (e) => { this.exited = { code: null, sig: null, error: e.message }; });
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      if (this.exited) break;
      if (await canConnect(this.port)) return this;
      await sleep(20);
    }
    throw new Error(`${this.name} did not start (${JSON.stringify(this.exited)}): ${this.out}`);
  }

  async stop(sig = 'SIGTERM') {
    if (!this.proc || this.exited) return this.exited;
    const done = new Promise((r) => this.proc.once('exit', (code, s) => r({ code, sig: s })));
    this.proc.kill(sig);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    const r = await done;
    clearTimeout(t);
    return r;
  }

  async waitLog(rx, ms = 10000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (rx.test(this.out)) return;
      await sleep(50);
    }
    throw new Error(`${this.name} never logged ${rx}: ${this.out.slice(-3000)}`);
  }
}

const skip = !fs.existsSync(chromiumPath) ? 'no Chromium'
  : !have('redis-server') ? 'no redis-server' : !have('haproxy') ? 'no haproxy' : false;

test('redis: the three-machine chat of docs/operations.md through HAProxy, an edge then Redis restarted',
  { timeout: 120000, skip }, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsd-redis-'));
    const procs = [];
    let alice = null;
    let bob = null;
    try {
      // the servers, as the block says, on free ports
      const ports = {};
      for (const p of ['6379', '8080', '8081', '8082', '8083', '8000']) ports[p] = await freePort();
      const sub = (s) => s.replace(/\b(6379|8080|8081|8082|8083)\b/g, (p) => String(ports[p]));
      const lines = docBlock('sh', 'one machine: Redis, the program\'s wsd, three edges')
        .split('\n').filter((l) => l.trim() && !l.startsWith('#'));
      assert.equal(lines.length, 5, 'the block has Redis, the program\'s wsd and three edges');
      for (const line of lines) {
        const w = words(sub(line));
        let port;
        if (w[0] === 'redis-server') {
          port = Number(w[w.indexOf('--port') + 1]);
          w.push('--dir', tmp);
        } else {
          assert.equal(w[0], 'wsd');
          port = Number(w.find((a) => a.startsWith('--port=')).slice(7));
          w.splice(0, 1, bin, ...rootFlags);
        }
        procs.push(await new Proc(w[0] === bin ? `wsd:${port}` : 'redis', w, port).start());
      }
      const [redis, origin, ...edges] = procs;
      for (const e of edges) await e.waitLog(/Redis link up/);
      // HAProxy as documented, before the edges
      let cfg = docBlock('haproxy', 'haproxy: round-robin over three wsd edges');
      cfg = cfg.replace('bind :8000', `bind 127.0.0.1:${ports['8000']}`);
      for (let i = 1; i <= 3; i++) cfg = cfg.replace(`10.0.0.${i}:8081`, `127.0.0.1:${ports[String(8080 + i)]}`);
      fs.writeFileSync(path.join(tmp, 'haproxy.cfg'), cfg);
      const hap = await new Proc('haproxy', ['haproxy', '-db', '-f', path.join(tmp, 'haproxy.cfg')],
        ports['8000']).start();
      procs.push(hap);

      const base = `http://127.0.0.1:${ports['8000']}/`;
      const ctx = () => chromium.launchPersistentContext(path.join(tmp, `profile-${Math.random()}`), {
        executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 20000,
      });
      const logs = () => procs.map((p) => `--- ${p.name}\n${p.out.slice(-1500)}`).join('\n');
      const see = async (page, text, who, ms = 8000) => {
        try {
          await page.locator('#log div', { hasText: text }).first().waitFor({ timeout: ms });
        } catch (e) {
          throw new Error(`${who} never saw ${JSON.stringify(text)}: ${await page.locator('#log').innerText()}\n${logs()}`);
        }
      };
      const say = async (page, text) => {
        await page.locator('#state', { hasText: 'connected' }).waitFor({ timeout: 15000 });
        await page.fill('#msg', text);
        await page.press('#msg', 'Enter');
      };
      // a message from one to the other, said again until it arrives (what
      // is said while a link is down is lost: at-most-once)
      const converse = async (from, to, text, who) => {
        for (let i = 0; i < 10; i++) {
          await say(from, `${text} ${i}`);
          try {
            await to.locator('#log div', { hasText: `${text} ${i}` }).first().waitFor({ timeout: 1500 });
            return;
          } catch (e) { /* again */ }
        }
        await see(to, text, who, 100);
      };

      alice = await ctx();
      bob = await ctx();
      const a = alice.pages()[0] || await alice.newPage();
      const b = bob.pages()[0] || await bob.newPage();
      await a.goto(base);
      await see(a, 'welcome, guest-', 'alice');
      await b.goto(base);
      await see(b, 'welcome, guest-', 'bob');
      await say(a, 'hello from alice');
      await see(b, 'hello from alice', 'bob');
      await say(b, 'hello from bob');
      await see(a, 'hello from bob', 'alice');

      // restart the edge of one of them: its page reconnects through HAProxy
      const busy = edges.filter((e) => /\| CONNECT/.test(e.out));
      assert.ok(busy.length >= 1, 'no edge has a client');
      const victim = busy[0];
      assert.equal((await victim.stop('SIGTERM')).code, 0);
      await sleep(300);
      await victim.start();
      await victim.waitLog(/Redis link up/);
      await converse(a, b, 'after the edge restart', 'bob');
      await converse(b, a, 'back to alice', 'alice');

      // restart Redis: nobody is disconnected; the conversation resumes
      await redis.stop('SIGKILL');
      await sleep(500);
      await redis.start();
      for (const p of [origin, ...edges]) await p.waitLog(/Redis link back/, 15000);
      await converse(a, b, 'after the redis restart', 'bob');
      await converse(b, a, 'and back', 'alice');
      fs.mkdirSync(logDir, { recursive: true });
      await a.screenshot({ path: path.join(logDir, 'browser-redis-chat.png') });
      // wsd exits cleanly
      for (const p of [origin, ...edges]) assert.deepEqual(await p.stop(), { code: 0, sig: null }, p.out);
    } finally {
      for (const c of [alice, bob]) if (c) await Promise.race([c.close().catch(() => {}), sleep(10000)]);
      for (const p of procs.reverse()) await p.stop('SIGKILL');
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
