// nodebroadcast.mjs — the peer a user would write instead of wsd --shared:
// one program, each line it prints sent to every client, with Node and the
// `ws` package (the broadcast example of its README).
//
//   node bench/nodebroadcast.mjs [--deflate] --address=127.0.0.1 --port=P COMMAND [ARGS...]
//
// `ws` comes from tests/node (npm ci there; WS_MODULE=path overrides).
// perMessageDeflate is off unless --deflate (then ws's defaults: messages of
// 1 KiB and more compressed, once per client, as ws does), and the program
// runs from start to end like wsd --sharedalways. Lines are split by hand (one
// Buffer.indexOf per line), not with readline, which costs more.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { WebSocketServer, WebSocket } = require(
  process.env.WS_MODULE || path.join(here, '..', 'tests', 'node', 'node_modules', 'ws'));

let host = '127.0.0.1';
let port = 0;
let deflate = false;
const args = process.argv.slice(2);
while (args.length && args[0].startsWith('--')) {
  const a = args.shift();
  if (a.startsWith('--port=')) port = Number(a.slice(7));
  else if (a.startsWith('--address=')) host = a.slice(10);
  else if (a.startsWith('--loglevel=')) { /* for symmetry with wsd */ }
  else if (a === '--deflate') deflate = true;
  else { console.error(`nodebroadcast: unknown option ${a}`); process.exit(2); }
}
if (!port || !args.length) {
  console.error('usage: nodebroadcast.mjs --port=P COMMAND [ARGS...]');
  process.exit(2);
}

const wss = new WebSocketServer({ host, port, perMessageDeflate: deflate });
const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
let rest = null;

child.stdout.on('data', (chunk) => {
  let buf = rest ? Buffer.concat([rest, chunk]) : chunk;
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) break;
    const line = buf.subarray(start, nl);
    for (const ws of wss.clients) {
      if (ws.readyState === WebSocket.OPEN) ws.send(line, { binary: false });
    }
    start = nl + 1;
  }
  rest = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
});
child.on('exit', () => process.exit(0));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { child.kill('SIGTERM'); process.exit(0); });
}
