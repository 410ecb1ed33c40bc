/**
 * `npm run bench -- proxy-heavy`: how responsive the media proxy stays while one heavy HDR request is processed
 * (issue 18 item 1). A 7071×7071 16-bit PQ PNG (~300 KB, 50 MP: the largest full-size output allowed) is fetched
 * without width while /healthz is polled back to back; the baseline is the same polling with the proxy idle, and the
 * pre-fix design (tone mapping on the main thread) is reproduced by running the same tone map inline while polling.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import sharp from 'sharp';
import { createRedis } from '../common/redis.ts';
import { dropPrefix, flatPng, pngChunk } from '../testkit/index.ts';
import {
  MediaService,
  configureSharp,
  createMediaApp,
  loadMediaProxyConfig,
  toneMapToSdr,
} from '../media-proxy/index.ts';
import { emit, percentile, ratio, round, sortedCopy } from './_harness.ts';

const SIDE = 7071;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-bench-heavy-'));
const prefix = `bench:heavy:${process.pid}:`;
const config = loadMediaProxyConfig(
  {
    MEDIA_PROXY_PORT: '0',
    MEDIA_PROXY_REDIS_PREFIX: prefix,
    MEDIA_PROXY_SIGNING_SECRET: 'bench-secret-0123456789abcdef',
    MEDIA_PROXY_TIMEOUT_MS: '120000',
  },
  dir,
);
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
configureSharp(config.sharp);
const logger = pino({ level: 'silent' });
const service = new MediaService({ config, redis, logger });
const app = await createMediaApp(service, logger);
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

const pq = await flatPng(SIDE, SIDE, {
  depth: 16,
  value: 38000,
  chunks: [pngChunk('cICP', Buffer.from([9, 16, 0, 1]))],
});
const form = new FormData();
form.append('file', new Blob([pq]), 'pq.png');
const up = (await (await fetch(`${base}/attachments/1100000000000000001`, { method: 'POST', body: form })).json()) as {
  url: string;
};
const heavyUrl = `${up.url.replace(/^https?:\/\/[^/]+/, base)}&format=jpeg`;

/** The main thread's own stalls (event-loop delay), apart from round trips that also include OS scheduling. */
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();

/** Polls /healthz back to back until `until` settles (or `n` times), returning each round trip in ms. */
async function poll(until: Promise<unknown> | null, n = 200): Promise<Float64Array> {
  let done = false;
  void until?.finally(() => (done = true));
  loop.reset();
  const times: number[] = [];
  while (until ? !done : times.length < n) {
    const t0 = performance.now();
    await (await fetch(`${base}/healthz`)).arrayBuffer();
    times.push(performance.now() - t0);
  }
  await new Promise((r) => setTimeout(r, 20)); // the delay monitor records a stall on its next tick
  return sortedCopy(times);
}

function figure(name: string, t: Float64Array, baseline: Float64Array, extra: Record<string, unknown> = {}): void {
  emit({
    bench: 'proxy-heavy',
    figure: name,
    requests: t.length,
    p50_ms: round(percentile(t, 50)),
    p99_ms: round(percentile(t, 99)),
    max_ms: round(t[t.length - 1]),
    baseline: 'healthz-idle',
    baseline_max_ms: round(baseline[baseline.length - 1]),
    ratio_max: ratio(t[t.length - 1], baseline[baseline.length - 1]),
    event_loop_delay_max_ms: round(loop.max / 1e6),
    ...extra,
  });
}

const idle = await poll(null);
figure('healthz-idle', idle, idle);

const t0 = performance.now();
const heavy = fetch(heavyUrl).then(async (r) => ({ status: r.status, bytes: (await r.arrayBuffer()).byteLength }));
const during = await poll(heavy);
const h = await heavy;
figure('healthz-during-hdr-50mp', during, idle, { heavy_status: h.status, heavy_ms: round(performance.now() - t0) });

// The pre-fix design: the same 50 MP tone map on the main thread while /healthz is polled.
const raw = await sharp(pq, { ignoreIcc: true, limitInputPixels: false })
  .toColourspace('rgb16')
  .raw({ depth: 'ushort' })
  .toBuffer();
const samples = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
const inline = new Promise<void>((resolve) =>
  setTimeout(() => {
    toneMapToSdr(samples, 3, { transfer: 'pq', primaries: 'bt2020' });
    resolve();
  }, 20),
);
const blocked = await poll(inline);
figure('healthz-during-main-thread-tone-map (pre-fix design)', blocked, idle, {
  vs_worker_max: ratio(blocked[blocked.length - 1], during[during.length - 1]),
});

await app.close();
await service.close();
await dropPrefix(redis, prefix);
redis.disconnect();
fs.rmSync(dir, { recursive: true, force: true });
