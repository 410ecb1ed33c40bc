/**
 * `npm run bench -- interactions`:
 * 1. Interactions per second from a user's invocation (POST /api/v10/interactions?wait=true, answered when the
 *    interaction is acknowledged) to the bot's acknowledgement (callback type 4, a stored message), over the gateway
 *    (INTERACTION_CREATE to a bot, callback over REST) and over HTTP (signed POST to a node:http app that checks the
 *    signature with discord-interactions' verifyKey and answers inline), p50/p99 — next to a bare fastify echo
 *    endpoint hit by the same closed-loop load generator.
 * 2. Placeholder cost per 2K JPEG (ThumbHash from a ≤100 px sharp thumbnail) next to the sharp resize of the same
 *    JPEG to a 400 px WebP (the kind of resize the upload's pre-render does), and upload latency to the media proxy
 *    with the placeholder computed alongside it, after it, or not at all — what the placeholder job (chosen: it
 *    runs after the message is stored) leaves on the upload path.
 * Env: BENCH_SECONDS (4 per run), BENCH_CONNECTIONS (16), BENCH_IMAGES (30), REDIS_URL.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import sharp from 'sharp';
import { rootLogger } from '../common/logger.ts';
import {
  computePlaceholder,
  loadGatewayLiteConfig,
  seedPlatform,
  startGatewayLite,
  type GatewayLite,
  type SeedResult,
} from '../gateway-lite/index.ts';
import { createMediaApp, loadMediaProxyConfig, MediaService } from '../media-proxy/index.ts';
import { photoRaw, startHttpApp } from '../testkit/index.ts';
import { emit, httpLoad, type LoadResult, percentile, ratio, round, sortedCopy } from './_harness.ts';
import { gatewayBot } from './_interactions-bot.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 30);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Closed loop: CONNECTIONS keep-alive clients, each posting the next invocation when the last one was answered. */
function load(
  url: string,
  headers: Record<string, string>,
  body: () => string,
  ok: (b: string) => boolean,
): Promise<LoadResult> {
  return httpLoad(url, { method: 'POST', headers, body, ok }, CONNECTIONS, SECONDS);
}

const unlimited = '100000000/1000';
async function startNode(
  tag: string,
  extra: Record<string, string> = {},
): Promise<{ node: GatewayLite; seed: SeedResult; dir: string; prefix: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `resound-bench-ix-${tag}-`));
  const config = loadGatewayLiteConfig(
    {
      GATEWAY_LITE_PORT: '0',
      GATEWAY_LITE_INTERNAL_PORT: '0',
      GATEWAY_LITE_REDIS_PREFIX: `resound:bench:ix:${process.pid}:${tag}:`,
      GATEWAY_LITE_RL_GLOBAL_PER_S: '100000000',
      GATEWAY_LITE_RL_DEFAULT: unlimited,
      GATEWAY_LITE_RL_MESSAGE_POST: unlimited,
      GATEWAY_LITE_RL_WEBHOOK: unlimited,
      GATEWAY_LITE_INTERACTIONS_ALLOW: '127.0.0.1/32',
      ...extra,
    },
    { RESOUND_DATA_DIR: dir, RESOUND_BIND: '127.0.0.1' },
  );
  const node = await startGatewayLite({ config, redisUrl: REDIS_URL, logger: rootLogger('error') });
  const seed = await seedPlatform(node.storage);
  return { node, seed, dir, prefix: config.redisPrefix };
}

async function registerCommand(api: string, seed: SeedResult): Promise<string> {
  const res = await fetch(`${api}/applications/${seed.applicationId}/guilds/${seed.guildId}/commands`, {
    method: 'PUT',
    headers: { authorization: `Bot ${seed.token}`, 'content-type': 'application/json' },
    body: JSON.stringify([{ name: 'ping', description: 'pong' }]),
  });
  return ((await res.json()) as Array<{ id: string }>)[0].id;
}

const invocation = (seed: SeedResult, commandId: string) => () =>
  JSON.stringify({
    type: 2,
    application_id: seed.applicationId,
    guild_id: seed.guildId,
    channel_id: seed.textChannelId,
    data: { id: commandId },
  });
const acknowledged = (b: string) => b.includes('"acknowledged"');

// ---- 1. invocation → acknowledgement -------------------------------------------------------------------------
const cleanups: Array<() => Promise<void>> = [];
const results: Record<string, LoadResult> = {};
{
  // Gateway delivery: a bot on the gateway answers each INTERACTION_CREATE with a type 4 callback over REST.
  const g = await startNode('gw');
  const api = `${g.node.url}/api/v10`;
  const commandId = await registerCommand(api, g.seed);
  const bot = await gatewayBot(g.node.gatewayUrl, g.seed.token, api);
  cleanups.push(async () => {
    await bot.close();
    await g.node.close();
  });
  const url = `${api}/interactions?wait=true`;
  const headers = { authorization: g.seed.userToken };
  await load(url, headers, invocation(g.seed, commandId), acknowledged); // warm-up
  results.gateway = await load(url, headers, invocation(g.seed, commandId), acknowledged);
}
{
  // HTTP delivery: the endpoint verifies every request with discord-interactions and answers inline.
  const h = await startNode('http');
  const api = `${h.node.url}/api/v10`;
  const commandId = await registerCommand(api, h.seed);
  const verify = h.seed.verifyKey;
  const app = await startHttpApp(verify, (_i, res) => {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ type: 4, data: { content: 'pong' } }));
  });
  const endpoint = app.url;
  const saved = await fetch(`${api}/applications/@me`, {
    method: 'PATCH',
    headers: { authorization: `Bot ${h.seed.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ interactions_endpoint_url: endpoint }),
  });
  if (saved.status !== 200) throw new Error(`endpoint not saved: ${await saved.text()}`);
  cleanups.push(async () => {
    await app.close();
    await h.node.close();
  });
  const url = `${api}/interactions?wait=true`;
  const headers = { authorization: h.seed.userToken };
  await load(url, headers, invocation(h.seed, commandId), acknowledged);
  results.http = await load(url, headers, invocation(h.seed, commandId), acknowledged);
}
{
  const bare = Fastify();
  bare.post('/echo', async (req) => req.body);
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/echo`;
  const body = () => JSON.stringify({ type: 2, data: { id: '1', name: 'ping' }, outcome: 'acknowledged' });
  await load(url, {}, body, acknowledged);
  results.echo = await load(url, {}, body, acknowledged);
  await bare.close();
}
for (const delivery of ['gateway', 'http'] as const)
  emit({
    bench: 'interactions',
    op: `invoke_to_ack_${delivery}`,
    connections: CONNECTIONS,
    seconds: SECONDS,
    ours: results[delivery],
    baseline_bare_fastify_echo: results.echo,
    ratio_rps: ratio(results[delivery].rps, results.echo.rps),
  });

// ---- 2. placeholders ---------------------------------------------------------------------------------------------
const jpegs = await Promise.all(
  Array.from({ length: 3 }, (_, i) =>
    sharp(photoRaw(2048, 1365, 17 + i), { raw: { width: 2048, height: 1365, channels: 3 } })
      .jpeg({ quality: 85 })
      .toBuffer(),
  ),
);
async function perImage(
  fn: (b: Buffer) => Promise<unknown>,
): Promise<{ mean_ms: number; p50_ms: number; p99_ms: number }> {
  for (const j of jpegs) await fn(j); // warm-up
  const lat: number[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const t0 = process.hrtime.bigint();
    await fn(jpegs[i % jpegs.length]);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const s = sortedCopy(lat);
  return {
    mean_ms: round(lat.reduce((a, b) => a + b, 0) / lat.length, 2),
    p50_ms: round(percentile(s, 50), 2),
    p99_ms: round(percentile(s, 99), 2),
  };
}
const placeholder = await perImage((b) => computePlaceholder(b));
const resize = await perImage((b) => sharp(b).resize(400).webp().toBuffer());
emit({
  bench: 'interactions',
  op: 'placeholder_per_2k_jpeg',
  image: '2048x1365 JPEG q85',
  images: IMAGES,
  ours: placeholder,
  baseline_sharp_resize_400_webp: resize,
  ratio_mean: ratio(placeholder.mean_ms, resize.mean_ms),
});

// Where to compute it: upload latency to the media proxy with the placeholder alongside, after, or off the path.
{
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-bench-ix-mp-'));
  const prefix = `resound:bench:ix:${process.pid}:mp:`;
  const { createRedis } = await import('../common/redis.ts');
  const redis = createRedis(REDIS_URL);
  const config = loadMediaProxyConfig(
    { MEDIA_PROXY_PORT: '0', MEDIA_PROXY_PRERENDER: 'false', MEDIA_PROXY_REDIS_PREFIX: prefix },
    dir,
  );
  const logger = rootLogger('error');
  const service = new MediaService({ config, redis, logger });
  const mp = await createMediaApp(service, logger);
  await mp.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(mp.server.address() as AddressInfo).port}`;
  const upload = async (b: Buffer) => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(b)], { type: 'image/jpeg' }), 'photo.jpg');
    const res = await fetch(`${base}/attachments/1577000000000000000`, { method: 'POST', body: form });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`upload answered ${res.status}`);
  };
  // The three placements interleaved image by image, so the machine's load swings hit each of them alike.
  const variants: Record<'alone' | 'alongside' | 'after', (b: Buffer) => Promise<unknown>> = {
    alone: upload,
    alongside: (b) => Promise.all([upload(b), computePlaceholder(b)]),
    after: async (b) => {
      await upload(b);
      await computePlaceholder(b);
    },
  };
  const lat: Record<keyof typeof variants, number[]> = { alone: [], alongside: [], after: [] };
  for (const j of jpegs) for (const fn of Object.values(variants)) await fn(j); // warm-up
  for (let i = 0; i < IMAGES * 2; i++)
    for (const [name, fn] of Object.entries(variants) as Array<
      [keyof typeof variants, (b: Buffer) => Promise<unknown>]
    >) {
      const t0 = process.hrtime.bigint();
      await fn(jpegs[i % jpegs.length]);
      lat[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  const stats = (v: number[]) => {
    const s = sortedCopy(v);
    return {
      mean_ms: round(v.reduce((a, b) => a + b, 0) / v.length, 2),
      p50_ms: round(percentile(s, 50), 2),
      p99_ms: round(percentile(s, 99), 2),
    };
  };
  const [alone, alongside, after] = [stats(lat.alone), stats(lat.alongside), stats(lat.after)];
  emit({
    bench: 'interactions',
    op: 'upload_latency_placeholder_placement',
    image: '2048x1365 JPEG q85',
    uploads_each: IMAGES * 2,
    // The job (chosen) answers the upload like `without`; its own cost is placeholder_per_2k_jpeg, after the answer.
    baseline_upload_without_placeholder_job_path: alone,
    placeholder_alongside_upload_in_request: alongside,
    placeholder_after_upload_in_request: after,
    ratio_alongside_p50: ratio(alongside.p50_ms, alone.p50_ms),
    ratio_after_p50: ratio(after.p50_ms, alone.p50_ms),
  });
  await mp.close();
  await service.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
}

for (const c of cleanups) await c();
{
  const { createRedis } = await import('../common/redis.ts');
  const r = createRedis(REDIS_URL);
  const keys = await r.keys(`resound:bench:ix:${process.pid}:*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
}
