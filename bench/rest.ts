/**
 * `npm run bench -- rest`: messages POST and GET (limit 50) per second through the whole gateway-lite stack (bot-token
 * auth, the rate-limit Lua script in Redis, channel/member checks, SQLite storage with synchronous=FULL, Discord
 * JSON) against a bare fastify route answering the same JSON bytes, same process, same client, same run.
 * Env: BENCH_SECONDS (4 per run), BENCH_CONNECTIONS (16), REDIS_URL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { rootLogger } from '../common/logger.ts';
import { loadGatewayLiteConfig, seedPlatform, startGatewayLite } from '../gateway-lite/index.ts';
import { emit, httpLoad, ratio } from './_harness.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Closed-loop load: CONNECTIONS keep-alive clients each sending the next request when the last one answered. */
function load(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string) {
  return httpLoad(url, { method, headers, body: body === undefined ? undefined : () => body }, CONNECTIONS, SECONDS);
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-bench-rest-'));
const unlimited = '100000000/1000';
const config = loadGatewayLiteConfig(
  {
    GATEWAY_LITE_PORT: '0',
    GATEWAY_LITE_INTERNAL_PORT: '0',
    GATEWAY_LITE_REDIS_PREFIX: `resound:bench:gl:${process.pid}:`,
    GATEWAY_LITE_RL_GLOBAL_PER_S: '100000000',
    GATEWAY_LITE_RL_DEFAULT: unlimited,
    GATEWAY_LITE_RL_MESSAGE_POST: unlimited,
  },
  { RESOUND_DATA_DIR: dataDir, RESOUND_BIND: '127.0.0.1' },
);
const node = await startGatewayLite({ config, redisUrl: REDIS_URL, logger: rootLogger('warn') });
const seed = await seedPlatform(node.storage);
const auth = { authorization: `Bot ${seed.token}` };
const msgs = `${node.url}/api/v10/channels/${seed.textChannelId}/messages`;
const body = JSON.stringify({ content: 'hello from the bench' });

// The exact bytes the full stack answers, served by a bare route for the baseline.
const postAnswer = await (
  await fetch(msgs, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body })
).text();
for (let i = 0; i < 60; i++)
  await fetch(msgs, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
const getAnswer = await (await fetch(`${msgs}?limit=50`, { headers: auth })).text();
const bare = Fastify();
bare.post('/messages', async (_req, reply) => reply.type('application/json').send(postAnswer));
bare.get('/messages', async (_req, reply) => reply.type('application/json').send(getAnswer));
await bare.listen({ port: 0, host: '127.0.0.1' });
const bareUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/messages`;

// Warm both paths before recording.
await load(msgs, 'POST', auth, body);
await load(bareUrl, 'POST', {}, body);

for (const [op, method] of [
  ['messages_post', 'POST'],
  ['messages_get_limit_50', 'GET'],
] as const) {
  const full = method === 'POST' ? await load(msgs, 'POST', auth, body) : await load(`${msgs}?limit=50`, 'GET', auth);
  const base = method === 'POST' ? await load(bareUrl, 'POST', {}, body) : await load(`${bareUrl}?limit=50`, 'GET', {});
  emit({
    bench: 'rest',
    op,
    connections: CONNECTIONS,
    seconds: SECONDS,
    storage: 'sqlite synchronous=FULL',
    ours: full,
    baseline_bare_fastify: base,
    ratio_rps: ratio(full.rps, base.rps),
  });
}

await bare.close();
await node.close();
const { createRedis } = await import('../common/redis.ts');
const r = createRedis(REDIS_URL);
const keys = await r.keys(`${config.redisPrefix}*`);
if (keys.length) await r.del(...keys);
r.disconnect();
fs.rmSync(dataDir, { recursive: true, force: true });
