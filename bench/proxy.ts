/**
 * `npm run bench -- proxy`: the media proxy against ipx (a sharp-based proxy) and a bare sharp loop (the limit), same
 * images and parameters, same run. ~100 synthetic 2048×1365 photo-like JPEGs, fit inside 512×512, JPEG/WebP/AVIF/PNG
 * output, 2 concurrent connections, every URL distinct (no cache hits); then a cache-hit run and the animated
 * GIF → WebP size reduction. Each server runs in its own process so peak RSS (VmHWM) is its own.
 * Env: BENCH_IMAGES (100), BENCH_AVIF_IMAGES (40: AVIF encodes are ~10× slower), BENCH_CONNECTIONS (2),
 * BENCH_ROUNDS (2: each server runs this many times, interleaved with the others, and the rounds are merged).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { emit, percentile, ratio, round, sortedCopy } from './_harness.ts';
import { toneMapToSdr, transformImage } from '../media-proxy/index.ts';
import {
  IMAGE_FIXTURES_DIR,
  insertAfterIhdr,
  listeningUrl,
  photoRaw,
  pngChunk,
  pqEncode,
  prng,
  ROOT,
  spawnNode,
  type Spawned,
} from '../testkit/index.ts';
import { createRedis } from '../common/redis.ts';

const N = Number(process.env.BENCH_IMAGES ?? 100);
const N_AVIF = Number(process.env.BENCH_AVIF_IMAGES ?? 40);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 2);
const FORMATS = ['jpeg', 'webp', 'avif', 'png'] as const;
type Format = (typeof FORMATS)[number];
const QUALITY: Record<Format, number | undefined> = { jpeg: 80, webp: 75, avif: 60, png: undefined };
const BOX = 512;

interface RunResult {
  rps: number;
  p50: number;
  p95: number;
  rssMb: number;
  errors: number;
  requests: number;
  /** Raw figures kept so rounds can be merged. */
  lat: number[];
  wall: number;
}

function summarize(lat: number[], wall: number, errors: number, rssMb: number): RunResult {
  const sorted = sortedCopy(lat);
  return {
    rps: round(lat.length / wall, 2),
    p50: round(percentile(sorted, 50), 1),
    p95: round(percentile(sorted, 95), 1),
    rssMb,
    errors,
    requests: lat.length,
    lat,
    wall,
  };
}

/** Rounds of the same server interleaved with the others, merged: load drift on a shared machine hits all alike. */
function merge(runs: RunResult[]): RunResult {
  return summarize(
    runs.flatMap((r) => r.lat),
    runs.reduce((s, r) => s + r.wall, 0),
    runs.reduce((s, r) => s + r.errors, 0),
    Math.max(...runs.map((r) => r.rssMb)),
  );
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-bench-proxy-'));
const imgDir = path.join(work, 'images');
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

async function makeImages(): Promise<string[]> {
  fs.mkdirSync(imgDir);
  const W = 2048;
  const H = 1365;
  const rnd = prng(42);
  const noise = new Int8Array(W * H * 3 + 65536);
  for (let i = 0; i < noise.length; i++) noise[i] = Math.round((rnd() + rnd() - 1) * 14);
  const names: string[] = [];
  for (let i = 0; i < N + 2; i++) {
    const base = await sharp(photoRaw(96, 64, 1000 + i), { raw: { width: 96, height: 64, channels: 3 } })
      .resize(W, H, { kernel: 'cubic' })
      .raw()
      .toBuffer();
    const off = (i * 7919) % 65536;
    for (let p = 0; p < base.length; p++) base[p] = Math.max(0, Math.min(255, base[p] + noise[p + off]));
    const name = `img-${String(i).padStart(3, '0')}.jpg`;
    await sharp(base, { raw: { width: W, height: H, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(path.join(imgDir, name));
    names.push(name);
  }
  return names;
}

function peakRssMb(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : NaN;
  } catch {
    return NaN;
  }
}

/** Spawns a server and resolves with its URL once it prints a JSON line carrying `url`. */
async function spawnServer(args: string[], env: Record<string, string>): Promise<{ server: Spawned; url: string }> {
  const server = spawnNode(args, { env, stderr: 'inherit' });
  children.push(server.child);
  return { server, url: await listeningUrl(server) };
}

async function load(urls: string[]): Promise<RunResult> {
  const lat: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < urls.length) {
        const url = urls[next++];
        const s = performance.now();
        const res = await fetch(url);
        await res.arrayBuffer();
        lat.push(performance.now() - s);
        if (res.status !== 200) errors++;
      }
    }),
  );
  return summarize(lat, (performance.now() - t0) / 1000, errors, 0);
}

async function sharpLoop(files: string[], format: Format, avifEffort: number): Promise<RunResult> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/_proxy-sharp-loop.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      LOOP_FILES: JSON.stringify(files),
      LOOP_FORMAT: format,
      LOOP_QUALITY: String(QUALITY[format] ?? ''),
      LOOP_AVIF_EFFORT: String(avifEffort),
      LOOP_CONC: String(CONNECTIONS),
    },
  });
  if (r.status !== 0) throw new Error(`sharp loop failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { lat: number[]; wall: number; rssKb: number };
  return summarize(j.lat, j.wall, 0, round(j.rssKb / 1024, 1));
}

let uploaded: string[] | undefined;
let resoundRun = 0;

/** One proxy process per run (fresh cache dir and Redis prefix, shared originals) so VmHWM is per run. */
async function resound(
  names: string[],
  format: Format,
  avifEffort: number,
  cacheHitRun = false,
): Promise<{ miss: RunResult; hit?: RunResult }> {
  const run = resoundRun++;
  const { server, url } = await spawnServer(['--import', 'tsx', 'bin/resound.ts', 'start', 'proxy'], {
    RESOUND_DATA_DIR: path.join(work, 'resound-data'),
    MEDIA_PROXY_PORT: '0',
    MEDIA_PROXY_REQUIRE_SIGNED_ATTACHMENTS: 'false',
    MEDIA_PROXY_CACHE_DIR: path.join(work, `cache-${run}`),
    MEDIA_PROXY_REDIS_PREFIX: `bench:proxy:${process.pid}:${run}:`,
    MEDIA_PROXY_MISSES_PER_MINUTE: '0', // every URL is a deliberate miss from one client
    MEDIA_PROXY_AVIF_EFFORT: String(avifEffort),
    LOG_LEVEL: 'info',
  });
  if (!uploaded) {
    uploaded = [];
    for (const n of names) {
      const form = new FormData();
      form.append('file', new Blob([fs.readFileSync(path.join(imgDir, n))]), n);
      const res = await fetch(`${url}/attachments/1000000000000000001`, { method: 'POST', body: form });
      const j = (await res.json()) as { id: string; filename: string };
      uploaded.push(`/attachments/1000000000000000001/${j.id}/${j.filename}`);
    }
  }
  const q = QUALITY[format] ? `&quality=${QUALITY[format]}` : '';
  const urls = (list: string[], box: number) =>
    list.map((p) => `${url}${p}?width=${box}&height=${box}&keep_aspect_ratio=true&format=${format}${q}`);
  await load(urls(uploaded.slice(0, 2), BOX - 12)); // warm-up on other images and sizes: no cache effect on the run
  const count = format === 'avif' ? N_AVIF : N;
  const measured = urls(uploaded.slice(2, 2 + count), BOX);
  const miss = await load(measured);
  let hit: RunResult | undefined;
  if (cacheHitRun) hit = await load(measured);
  miss.rssMb = peakRssMb(server.child.pid);
  if (hit) hit.rssMb = miss.rssMb;
  await server.kill('SIGTERM');
  await dropKeys(`bench:proxy:${process.pid}:${run}:`);
  return { miss, hit };
}

/** The run's result index is scratch: remove it so benchmarks leave Redis as they found it. */
async function dropKeys(prefix: string): Promise<void> {
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

async function ipx(names: string[], format: Format): Promise<RunResult> {
  const { server, url } = await spawnServer(['--import', 'tsx', 'bench/_proxy-ipx-server.ts'], { IPX_DIR: imgDir });
  const q = QUALITY[format] ? `,q_${QUALITY[format]}` : '';
  const urls = (list: string[], box: number) =>
    list.map((n) => `${url}/s_${box}x${box},fit_inside,f_${format}${q}/${n}`);
  await load(urls(names.slice(0, 2), BOX - 12));
  const count = format === 'avif' ? N_AVIF : N;
  const r = await load(urls(names.slice(2, 2 + count), BOX));
  r.rssMb = peakRssMb(server.child.pid);
  await server.kill('SIGTERM');
  return r;
}

function figure(server: string, format: Format, r: RunResult, extra: Record<string, unknown> = {}): void {
  emit({
    bench: 'proxy',
    figure: 'transform',
    server,
    format,
    requests: r.requests,
    rps: r.rps,
    p50_ms: r.p50,
    p95_ms: r.p95,
    peak_rss_mb: r.rssMb,
    errors: r.errors,
    connections: CONNECTIONS,
    ...extra,
  });
}

/** Why the default AVIF effort is what it is: encode time, size and PSNR per effort, against sharp's default 4. */
async function avifEfforts(files: string[]): Promise<void> {
  const rows = new Map<number, { ms: number; bytes: number; psnr: number }>();
  for (const effort of [0, 2, 3, 4]) {
    let ms = 0;
    let bytes = 0;
    let psnr = 0;
    for (const f of files) {
      const resized = sharp(fs.readFileSync(f)).resize({ width: BOX, height: BOX, fit: 'inside' });
      const ref = await resized.clone().raw().toBuffer();
      const t = performance.now();
      const enc = await resized.clone().avif({ quality: QUALITY.avif, effort }).toBuffer();
      ms += performance.now() - t;
      const dec = await sharp(enc).raw().toBuffer();
      let se = 0;
      for (let i = 0; i < ref.length; i++) se += (ref[i] - dec[i]) ** 2;
      psnr += 10 * Math.log10((255 * 255) / (se / ref.length));
      bytes += enc.length;
    }
    rows.set(effort, { ms: ms / files.length, bytes: bytes / files.length, psnr: psnr / files.length });
  }
  const base = rows.get(4) as { ms: number; bytes: number; psnr: number };
  for (const [effort, r] of rows) {
    emit({
      bench: 'proxy',
      figure: 'avif_effort',
      effort,
      images: files.length,
      encode_ms: round(r.ms, 1),
      bytes: Math.round(r.bytes),
      psnr_db: round(r.psnr, 2),
      baseline: 'effort 4 (sharp default)',
      time_ratio_vs_effort4: ratio(r.ms, base.ms),
      size_ratio_vs_effort4: ratio(r.bytes, base.bytes),
    });
  }
}

/**
 * What the JS tone mapper costs: a 2048×1365 16-bit PQ PNG → WebP 512 (decode, resize, tone map, encode) against the
 * identical pixels without cICP (the SDR path), plus the mapper alone at full resolution.
 */
async function toneMapCost(): Promise<void> {
  const W = 2048;
  const H = 1365;
  const base = await sharp(photoRaw(96, 64, 7), { raw: { width: 96, height: 64, channels: 3 } })
    .resize(W, H)
    .raw()
    .toBuffer();
  const lut = Array.from({ length: 256 }, (_, v) => Math.round(pqEncode((v / 255) ** 2.2 * 1000) * 65535));
  const px = Uint16Array.from(base, (v) => lut[v]);
  const sdrPng = await sharp(px, { raw: { width: W, height: H, channels: 3 } })
    .toColourspace('rgb16')
    .png({ compressionLevel: 1 })
    .toBuffer();
  const pqPng = insertAfterIhdr(sdrPng, [pngChunk('cICP', Buffer.from([9, 16, 0, 1]))]);
  const time = async (input: Buffer) => {
    const runs: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t = performance.now();
      const r = await transformImage(input, { format: 'webp', width: BOX, height: BOX });
      runs.push(performance.now() - t);
      if (i === 0 && r.toneMapped !== (input === pqPng)) throw new Error('tone-map bench used the wrong path');
    }
    return percentile(sortedCopy(runs), 50);
  };
  const hdr = await time(pqPng);
  const sdr = await time(sdrPng);
  const t = performance.now();
  toneMapToSdr(px, 3, { transfer: 'pq', primaries: 'bt2020', sourcePeakNits: 1000 });
  const full = performance.now() - t;
  emit({
    bench: 'proxy',
    figure: 'tone_map',
    image: `${W}x${H} 16-bit PNG → WebP ${BOX}`,
    hdr_ms: round(hdr, 1),
    sdr_ms: round(sdr, 1),
    baseline: 'same pixels without cICP (no tone map)',
    ratio_hdr_vs_sdr: ratio(hdr, sdr),
    tonemap_full_res_ms: round(full, 1),
    tonemap_mpix_per_s: round((W * H) / 1e6 / (full / 1000), 1),
  });
}

async function gifToWebpSizes(): Promise<void> {
  const dir = IMAGE_FIXTURES_DIR;
  const gifs = fs.readdirSync(dir).filter((f) => /^anim.*\.gif$/.test(f));
  const webpRatios: number[] = [];
  const gifsicleRatios: number[] = [];
  for (const f of gifs) {
    const src = fs.readFileSync(path.join(dir, f));
    const webp = await transformImage(src, { format: 'webp' });
    const gif = await transformImage(src, { format: 'gif' });
    webpRatios.push(webp.data.length / src.length);
    gifsicleRatios.push(gif.data.length / src.length);
  }
  const w = sortedCopy(webpRatios);
  const g = sortedCopy(gifsicleRatios);
  emit({
    bench: 'proxy',
    figure: 'gif_to_webp_size',
    files: gifs.length,
    median_reduction_pct: round((1 - percentile(w, 50)) * 100, 1),
    p95_reduction_pct: round((1 - percentile(w, 5)) * 100, 1),
    median_webp_over_gif: round(percentile(w, 50), 3),
    peer: 'gifsicle -O3 GIF→GIF',
    peer_median_reduction_pct: round((1 - percentile(g, 50)) * 100, 1),
    ratio_webp_vs_gifsicle: ratio(percentile(w, 50), percentile(g, 50)),
  });
}

const AVIF_EFFORT = 3;
const names = await makeImages();
emit({
  bench: 'proxy',
  figure: 'setup',
  images: N,
  avif_images: N_AVIF,
  size: '2048x1365 JPEG q90',
  box: BOX,
  connections: CONNECTIONS,
  cpus: os.availableParallelism(),
  sharp: sharp.versions.sharp,
  vips: sharp.versions.vips,
});
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
for (const format of FORMATS) {
  const count = format === 'avif' ? N_AVIF : N;
  const files = names.slice(2, 2 + count).map((n) => path.join(imgDir, n));
  const runs: { ours: RunResult[]; peer: RunResult[]; limit: RunResult[]; hit: RunResult[] } = {
    ours: [],
    peer: [],
    limit: [],
    hit: [],
  };
  for (let r = 0; r < ROUNDS; r++) {
    const o = await resound(names, format, AVIF_EFFORT, format === 'jpeg');
    runs.ours.push(o.miss);
    if (o.hit) runs.hit.push(o.hit);
    runs.peer.push(await ipx(names, format));
    runs.limit.push(await sharpLoop(files, format, AVIF_EFFORT));
  }
  const ours = merge(runs.ours);
  const peer = merge(runs.peer);
  const limit = merge(runs.limit);
  const rounds = { rounds: ROUNDS };
  figure('ipx', format, peer, rounds);
  figure('sharp-loop', format, limit, { ...rounds, ...(format === 'avif' ? { avif_effort: AVIF_EFFORT } : {}) });
  figure('resound', format, ours, {
    ...rounds,
    ratio_vs_ipx: ratio(ours.rps, peer.rps),
    ratio_vs_sharp_loop: ratio(ours.rps, limit.rps),
    ...(format === 'avif' ? { avif_effort: AVIF_EFFORT } : {}),
  });
  if (format === 'avif') {
    // ipx encodes AVIF at sharp's default effort 4; measure ours there too for a like-for-like ratio.
    const at4 = (await resound(names, format, 4)).miss;
    figure('resound', format, at4, { avif_effort: 4, ratio_vs_ipx: ratio(at4.rps, peer.rps) });
  }
  if (runs.hit.length) {
    const hit = merge(runs.hit);
    emit({
      bench: 'proxy',
      figure: 'cache_hit',
      server: 'resound',
      format,
      requests: hit.requests,
      rps: hit.rps,
      p50_ms: hit.p50,
      p95_ms: hit.p95,
      errors: hit.errors,
      ratio_vs_miss: ratio(hit.rps, ours.rps),
      ratio_vs_ipx: ratio(hit.rps, peer.rps),
    });
  }
}
await avifEfforts(names.slice(2, 10).map((n) => path.join(imgDir, n)));
await toneMapCost();
await gifToWebpSizes();
process.exit(0);
