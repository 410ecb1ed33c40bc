/**
 * Load generator for `npm run bench -- gateway`, run as a child process so the server's CPU (the parent) can be read
 * from /proc apart from the clients'. Opens N WebSockets, identifies on the gateway (or just connects, for the bare
 * `ws` baseline), counts every message after `reset`, and on SAMPLE connections decodes messages (inflating
 * zlib-stream with one context per connection, as a Discord client does) to read the publish time from `d.bench_ts`
 * and record the delivery lag. Talks to the parent over IPC.
 *
 * The other N − SAMPLE connections are bare TCP sockets that do the WebSocket handshake themselves and only walk
 * frame headers to count messages: with 10 k sockets and two cores, a full client library per socket would make the
 * load generator, not the server, the bottleneck.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import { WebSocket } from 'ws';

type Cmd =
  | { cmd: 'connect'; url: string; n: number; identify?: { tokens: string[]; intents: number }; sample: number }
  | { cmd: 'reset' }
  | { cmd: 'expect'; total: number }
  | { cmd: 'close' };

const now = () => performance.timeOrigin + performance.now();
let delivered = 0;
let lags: number[] = [];
let want = Infinity;
const sockets: WebSocket[] = [];
const raw: net.Socket[] = [];
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
  const p = JSON.parse(text) as { op: number; d?: { bench_ts?: number } | null };
  if (p.op === 0 && typeof p.d?.bench_ts === 'number') lags.push(now() - p.d.bench_ts);
}

/** A masked client text frame (RFC 6455 §5.3; payloads here are < 64 KiB). */
function clientFrame(text: string): Buffer {
  const p = Buffer.from(text);
  const head =
    p.length < 126
      ? Buffer.from([0x81, 0x80 | p.length])
      : Buffer.from([0x81, 0x80 | 126, p.length >> 8, p.length & 255]);
  const mask = randomBytes(4);
  for (let i = 0; i < p.length; i++) p[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, p]);
}

/** Handshake, then count server frames by header only; `first` runs on the first message (Hello). */
function rawSocket(url: string, first: ((sock: net.Socket) => void) | null): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let buf: Buffer = Buffer.alloc(0);
    let upgraded = false;
    let hello = first === null;
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString().includes('101')) return reject(new Error('upgrade refused'));
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve(sock);
      }
      let off = 0;
      while (buf.length - off >= 2) {
        let len = buf[off + 1] & 0x7f;
        let hdr = 2;
        if (len === 126) {
          if (buf.length - off < 4) break;
          len = buf.readUInt16BE(off + 2);
          hdr = 4;
        } else if (len === 127) {
          if (buf.length - off < 10) break;
          len = Number(buf.readBigUInt64BE(off + 2));
          hdr = 10;
        }
        if (buf.length - off < hdr + len) break;
        const opcode = buf[off] & 0x0f;
        off += hdr + len;
        if (opcode === 0x8 || opcode === 0x9 || opcode === 0xa) continue; // close / ping / pong
        if (!hello) {
          hello = true;
          first!(sock);
          continue;
        }
        delivered++;
      }
      buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
      if (delivered >= want) check();
    });
    sock.once('error', reject);
    sock.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

const identifyFrame = (token: string, intents: number) =>
  JSON.stringify({
    op: 2,
    d: { token, intents, properties: { os: 'linux', browser: 'bench', device: 'bench' }, shard: [0, 1] },
  });

/**
 * Identifies go out paced: 4 every 2 ms, tokens in turn, so each bot identifies at most once per ~50 ms (the gateway
 * admits one Identify per bot and bucket per window; an identify storm would be answered op 9).
 */
const pending: (() => void)[] = [];
setInterval(() => {
  for (let i = 0; i < 4 && pending.length; i++) pending.shift()!();
}, 2).unref();

async function connect(c: Extract<Cmd, { cmd: 'connect' }>): Promise<void> {
  const t0 = Date.now();
  let open = 0;
  const batch = 500; // connects in flight at once: a burst of 10 k SYNs overflows the listen backlog
  for (let i = 0; i < c.n; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, c.n - i) }, (_, k) => {
        const idx = i + k;
        const sampled = idx % Math.max(1, Math.floor(c.n / c.sample)) === 0;
        if (!sampled) {
          const ident = c.identify;
          const token = ident?.tokens[idx % ident.tokens.length] ?? '';
          const first = ident
            ? (sock: net.Socket) =>
                void pending.push(() => sock.write(clientFrame(identifyFrame(token, ident.intents))))
            : null;
          return rawSocket(c.url, first).then((sock) => {
            open++;
            raw.push(sock);
          });
        }
        return new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(c.url, { perMessageDeflate: false });
          const zlibStream = c.url.includes('compress=zlib-stream');
          const decode = sampled ? (zlibStream ? inflater(onDecoded) : (b: Buffer) => onDecoded(b.toString())) : null;
          let hello = false;
          ws.on('message', (data: Buffer) => {
            if (!hello && c.identify) {
              hello = true;
              // Hello opens the connection's compression stream: the inflater must see it too.
              if (zlibStream) decode?.(data);
              const id = c.identify;
              pending.push(() => ws.send(identifyFrame(id.tokens[idx % id.tokens.length], id.intents)));
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
    for (const sock of raw) sock.destroy();
    process.exit(0);
  }
});
send({ ev: 'up' });
