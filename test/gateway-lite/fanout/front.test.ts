import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { rootLogger } from '../../../common/logger.ts';
import { Registry } from '../../../common/metrics.ts';
import { createRedis } from '../../../common/redis.ts';
import { GatewayFront, GatewayNodes } from '../../../gateway-lite/index.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `resound:test:gw-front:${randomBytes(4).toString('hex')}:`;
const redis = createRedis(REDIS_URL);
const closers: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

/** A stand-in gateway node: a ws server that greets with its own name, registered in the node set. */
async function node(id: string) {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, path: '/gateway' });
  wss.on('connection', (ws) => ws.send(id));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/gateway`;
  const nodes = new GatewayNodes({ redis, prefix, self: { id, url, draining: false }, ttlMs: 3000 });
  await nodes.start();
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return nodes;
}

/** Which node a client reaching the front lands on (or the handshake error). */
function greet(url: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}/gateway?v=10&encoding=json`);
    ws.once('message', (m) => (resolve(String(m)), ws.close()));
    ws.once('error', (err) => resolve(`error: ${err.message}`));
  });
}

describe('GatewayFront: one URL over the live gateway nodes', () => {
  it('spreads connections over live nodes, skips a draining one, answers 503 with none', async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const registry = new Registry();
    const observer = new GatewayNodes({ redis, prefix, self: { id: '', url: '', draining: false }, ttlMs: 3000 });
    expect((await observer.refresh()).map((n) => n.id)).toEqual(['node-a', 'node-b']);
    const front = new GatewayFront({
      host: '127.0.0.1',
      port: 0,
      nodes: () => observer.nodes,
      registry,
      logger: rootLogger(),
    });
    const url = await front.listen();
    closers.push(() => front.close());
    const landed = [await greet(url), await greet(url), await greet(url), await greet(url)];
    expect(landed.sort()).toEqual(['node-a', 'node-a', 'node-b', 'node-b']);

    await a.setDraining(true);
    await observer.refresh();
    expect(observer.nodes.find((n) => n.id === 'node-a')?.draining).toBe(true);
    expect([await greet(url), await greet(url), await greet(url)]).toEqual(['node-b', 'node-b', 'node-b']);

    await a.close();
    await b.close();
    expect(await observer.refresh()).toEqual([]);
    expect(await greet(url)).toMatch(/error: Unexpected server response: 503/);
    const refused = await registry.getSingleMetric('resound_gateway_front_refused_total')!.get();
    expect(refused.values[0].value).toBe(1);
  });
});
