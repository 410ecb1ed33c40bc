import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import sharp from 'sharp';
import { avifSequence, flatPng, pngChunk } from '../../testkit/index.ts';
import { avifdecRunning, avifdecStarted } from '../../media-proxy/transform/avifdec.ts';
import { pixelBudget } from '../../media-proxy/transform/pixel-budget.ts';
import { pixelWorkers } from '../../media-proxy/transform/pixel-workers.ts';
import { fixture, makeProxy, type TestProxy } from './helpers.ts';

/**
 * Issue 18 item 1 / issue 11 item 5: one heavy upload must not freeze the proxy or outlive its answer, and several
 * at once must not exhaust memory. Inputs are built here (tiny files that decode huge); requests go over a real
 * socket with fetch(). No timing is asserted: each test waits for a state (a worker busy, a decoder gone) instead.
 */

const CHANNEL = '1100000000000000001';
const PQ = pngChunk('cICP', Buffer.from([9, 16, 0, 1]));

interface Running {
  t: TestProxy;
  base: string;
  /** The internal listener (/metrics). */
  internal: string;
}

async function start(env: Record<string, string>): Promise<Running> {
  const t = await makeProxy(env);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const internal = await t.internal.listen({ port: 0, host: '127.0.0.1' });
  return { t, base: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, internal };
}

async function upload(p: Running, data: Buffer, name: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([data]), name);
  const res = await fetch(`${p.base}/attachments/${CHANNEL}`, { method: 'POST', body: form });
  const body = (await res.json()) as { url: string };
  expect(res.status).toBe(200);
  return body.url.replace(/^https?:\/\/[^/]+/, p.base);
}

async function get(url: string) {
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  return { res, body, code: () => (JSON.parse(body.toString()) as { error: { code: string } }).error.code };
}

/** avifdec processes that are children of this test process, by name. */
function avifdecChildren(): number {
  const out = execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' }).trim();
  return out ? out.split('\n').filter((c) => c.trim() === 'avifdec').length : 0;
}

async function metric(p: Running, name: string): Promise<number> {
  const text = await (await fetch(`${p.internal}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

// Heavy inputs on a shared 2-core machine: each test may take a while (no assertion depends on how long).
vi.setConfig({ testTimeout: 180_000 });

describe('one heavy upload does not freeze the proxy', () => {
  let p: Running;
  beforeAll(async () => {
    // A generous deadline: these decode 25–100 megapixels on a shared machine, and a 503 here would prove nothing.
    p = await start({ MEDIA_PROXY_CONCURRENCY: '4', MEDIA_PROXY_TIMEOUT_MS: '120000' });
  });
  afterAll(async () => p.t.close());

  it('a 16384×6100 16-bit PQ PNG (~600 KB) is refused without width from its header, and tone-mapped with one', async () => {
    const url = await upload(p, await flatPng(16384, 6100, { depth: 16, value: 38000, chunks: [PQ] }), 'pq.png');
    const full = await get(`${url}&format=webp`);
    expect(full.res.status).toBe(413);
    expect(full.code()).toBe('too_many_pixels');
    const small = await get(`${url}&format=webp&width=1024`);
    expect(small.res.status).toBe(200);
    expect(small.res.headers.get('x-resound-image')).toBe('1024x381; frames=1; animated=false; tone-mapped');
  });

  it('a 600-frame AVIF sequence (~25 KB) is refused before any decoder runs; its first frame is still served', async () => {
    const url = await upload(p, avifSequence(64, 64, 600), 'long.avif');
    const before = avifdecStarted();
    const r = await get(`${url}&format=webp`);
    expect(r.res.status).toBe(413);
    expect(r.code()).toBe('too_many_frames');
    expect(avifdecStarted()).toBe(before);
    const still = await get(`${url}&format=webp&animated=false`);
    expect(still.res.status).toBe(200);
    expect(still.res.headers.get('x-resound-image')).toBe('64x64; frames=1; animated=false');
  });

  it('tone mapping runs in a worker thread: /healthz and a small image are answered while it works', async () => {
    const heavyUrl = await upload(p, await flatPng(5000, 5000, { depth: 16, value: 38000, chunks: [PQ] }), 'big.png');
    const smallUrl = await upload(p, fixture('photo.jpg'), 'photo.jpg');
    let heavyDone = false;
    const heavy = get(`${heavyUrl}&format=jpeg`).finally(() => (heavyDone = true));
    // The positive signal: the tone map of 25 megapixels has started in a worker thread.
    await vi.waitFor(() => expect(pixelWorkers.busy).toBe(1), { timeout: 60_000, interval: 2 });
    const [health, small] = await Promise.all([get(`${p.base}/healthz`), get(`${smallUrl}&format=webp&width=64`)]);
    const busyAfter = pixelWorkers.busy;
    expect(health.res.status).toBe(200);
    expect(small.res.status).toBe(200);
    expect((await sharp(small.body).metadata()).width).toBe(64);
    expect(busyAfter).toBe(1); // both were answered while the tone map was still running
    expect(heavyDone).toBe(false);
    const h = await heavy;
    expect(h.res.status).toBe(200);
    expect(h.res.headers.get('x-resound-image')).toBe('5000x5000; frames=1; animated=false; tone-mapped');
  });
});

describe('animation decode work is bounded and stops with its request', () => {
  let p: Running;
  beforeAll(async () => {
    p = await start({ MEDIA_PROXY_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => p.t.close());

  it('past its deadline a sequence decode answers 503 and stops: no avifdec outlives the work, none is started after', async () => {
    const frames = 400;
    const url = await upload(p, avifSequence(16, 16, frames), 'seq.avif');
    const before = avifdecStarted();
    const r = await get(`${url}&format=webp`);
    expect(r.res.status).toBe(503);
    expect(r.code()).toBe('transform_timeout');
    expect(r.res.headers.get('retry-after')).toBe('1');
    // The work has really ended when its pixel reservation is released (the Gate slot goes with it).
    await vi.waitFor(() => expect(pixelBudget.inFlight).toBe(0), { timeout: 30_000, interval: 5 });
    expect(p.t.service.gate.active).toBe(0);
    expect(avifdecRunning()).toBe(0);
    expect(avifdecChildren()).toBe(0);
    const started = avifdecStarted() - before;
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThan(frames); // the loop stopped instead of decoding on for nobody
    // Another request through the same proxy completes, and still no decoder of the stopped one has started since.
    const photo = await upload(p, fixture('photo.jpg'), 'photo.jpg');
    expect((await get(`${photo}&format=webp&width=32`)).res.status).toBe(200);
    expect(avifdecStarted() - before).toBe(started);
  });
});

describe('concurrent zlib bombs share one pixel budget (issue 11 item 5)', () => {
  let p: Running;
  beforeAll(async () => {
    // Six slots, so only the pixel budget (default 2 × 10^8) can hold the decodes back.
    p = await start({
      MEDIA_PROXY_CONCURRENCY: '6',
      MEDIA_PROXY_PIXEL_BUDGET: '200000000',
      MEDIA_PROXY_TIMEOUT_MS: '120000',
    });
  });
  afterAll(async () => p.t.close());

  it('four 10,000×10,000 PNG bombs at once: at most two decode together, the others wait, all are served', async () => {
    const urls: string[] = [];
    for (let i = 0; i < 4; i++)
      urls.push(await upload(p, await flatPng(10_000, 10_000, { value: 40 * i }), `b${i}.png`));
    pixelBudget.resetPeaks();
    const results = await Promise.all(urls.map((u) => get(`${u}&format=webp&width=256`)));
    for (const r of results) {
      expect(r.res.status).toBe(200);
      expect(r.res.headers.get('x-resound-image')).toBe('256x256; frames=1; animated=false');
    }
    expect(await metric(p, 'resound_media_proxy_decodes_in_flight_peak')).toBe(2);
    expect(await metric(p, 'resound_media_proxy_pixel_budget_waits')).toBe(2);
    expect(await metric(p, 'resound_media_proxy_decode_pixels')).toBe(0);
  });
});
