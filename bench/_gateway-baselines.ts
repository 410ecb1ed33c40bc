/**
 * The baselines the gateway's fan-out is compared with, on the same machine, clients and payloads:
 * - bare `ws` broadcast: one JSON.stringify per event, the same string sent to every socket (no sessions, no
 *   sequence numbers, no filtering) — the floor any gateway sits on;
 * - naive zlib-stream: per connection, JSON.stringify of the whole frame and a write + Z_SYNC_FLUSH on that
 *   connection's deflate context — what a straightforward zlib-stream server does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FanoutServer } from './_gateway-fanout.ts';

async function listen(): Promise<{ server: http.Server; wss: WebSocketServer; port: number }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, wss, port: (server.address() as AddressInfo).port };
}

async function drained(wss: WebSocketServer, n: number): Promise<void> {
  while (wss.clients.size < n || [...wss.clients].some((c) => c.bufferedAmount > 0))
    await new Promise((r) => setTimeout(r, 50));
}

export async function bareWsServer(): Promise<FanoutServer> {
  const { server, wss, port } = await listen();
  let s = 0;
  return {
    url: `ws://127.0.0.1:${port}/gateway?v=10&encoding=json`,
    ready: (n) => drained(wss, n),
    publish(t, d) {
      const frame = JSON.stringify({ t, s: ++s, op: 0, d });
      for (const ws of wss.clients) ws.send(frame);
    },
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}

export async function naiveDeflateServer(): Promise<FanoutServer> {
  const { server, wss, port } = await listen();
  const contexts = new Map<WebSocket, { deflate: zlib.Deflate; chunks: Buffer[]; s: number }>();
  wss.on('connection', (ws) => {
    const deflate = zlib.createDeflate();
    const ctx = { deflate, chunks: [] as Buffer[], s: 0 };
    deflate.on('data', (c: Buffer) => ctx.chunks.push(c));
    contexts.set(ws, ctx);
    ws.on('close', () => (deflate.destroy(), contexts.delete(ws)));
  });
  return {
    url: `ws://127.0.0.1:${port}/gateway?v=10&encoding=json&compress=zlib-stream`,
    ready: (n) => drained(wss, n),
    publish(t, d) {
      for (const [ws, ctx] of contexts) {
        ctx.deflate.write(JSON.stringify({ t, s: ++ctx.s, op: 0, d }));
        ctx.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          const out = Buffer.concat(ctx.chunks);
          ctx.chunks = [];
          ws.send(out);
        });
      }
    },
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}
