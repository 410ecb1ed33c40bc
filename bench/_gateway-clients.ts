/**
 * Load generator for `npm run bench -- gateway`, run as a child process so the server's CPU (the parent) can be read
 * from /proc apart from the clients'. Opens N WebSockets, identifies on the gateway (or just connects, for the bare
 * `ws` baseline), counts every message after `reset`, and on SAMPLE connections decodes messages (inflating
 * zlib-stream with one context per connection, as a Discord client does) to read the publish time from `d.bench_ts`
 * and record the delivery lag. Talks to the parent over IPC.
 */
import zlib from 'node:zlib';
import { WebSocket } from 'ws';

type Cmd =
  | { cmd: 'connect'; url: string; n: number; identify?: { token: string; intents: number }; sample: number }
  | { cmd: 'reset' }
  | { cmd: 'expect'; total: number }
  | { cmd: 'close' };

const now = () => performance.timeOrigin + performance.now();
let delivered = 0;
let lags: number[] = [];
let want = Infinity;
const sockets: WebSocket[] = [];
const send = (m: unknown) => process.send!(m);

function check(): void {
  if (delivered >= want) {
    want = Infinity;
    send({ ev: 'reached', delivered, lags });
    lags = [];
  }
}

/** zlib-stream on a sampled connection: buffer until 00 00 ff ff, inflate with the connection's context. */
function inflater(onText: (s: string) => void) {
  const inf = zlib.createInflate({ chunkSize: 65535 });
  const out: Buffer[] = [];
  inf.on('data', (c: Buffer) => out.push(c));
  return (buf: Buffer) => {
    inf.write(buf);
    inf.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      const text = Buffer.concat(out).toString();
      out.length = 0;
      if (text) onText(text);
    });
  };
}

function onDecoded(text: string): void {
  const p = JSON.parse(text) as { op: number; d?: { bench_ts?: number } };
  if (p.op === 0 && typeof p.d?.bench_ts === 'number') lags.push(now() - p.d.bench_ts);
}

async function connect(c: Extract<Cmd, { cmd: 'connect' }>): Promise<void> {
  const t0 = Date.now();
  let open = 0;
  const batch = 500; // connects in flight at once: a burst of 10 k SYNs overflows the listen backlog
  for (let i = 0; i < c.n; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, c.n - i) }, (_, k) => {
        const idx = i + k;
        const sampled = idx % Math.max(1, Math.floor(c.n / c.sample)) === 0;
        return new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(c.url, { perMessageDeflate: false });
          const zlibStream = c.url.includes('compress=zlib-stream');
          const decode = sampled ? (zlibStream ? inflater(onDecoded) : (b: Buffer) => onDecoded(b.toString())) : null;
          let hello = false;
          ws.on('message', (data: Buffer) => {
            if (!hello && c.identify) {
              hello = true;
              ws.send(
                JSON.stringify({
                  op: 2,
                  d: {
                    token: c.identify.token,
                    intents: c.identify.intents,
                    properties: { os: 'linux', browser: 'bench', device: 'bench' },
                    shard: [0, 1],
                  },
                }),
              );
              return;
            }
            delivered++;
            decode?.(data);
            if (delivered >= want) check();
          });
          ws.once('open', () => {
            open++;
            sockets.push(ws);
            resolve();
          });
          ws.once('error', reject);
        });
      }),
    );
  }
  send({ ev: 'connected', n: open, ms: Date.now() - t0 });
}

process.on('message', (m: Cmd) => {
  if (m.cmd === 'connect') void connect(m).catch((err: Error) => send({ ev: 'error', message: err.message }));
  else if (m.cmd === 'reset') {
    delivered = 0;
    lags = [];
    send({ ev: 'reset' });
  } else if (m.cmd === 'expect') {
    want = m.total;
    check();
  } else if (m.cmd === 'close') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
send({ ev: 'up' });
