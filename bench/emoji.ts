/**
 * `npm run bench -- emoji [count]`: a generated pack (≥ 200 emojis, half animated GIF) converted through the queue
 * (sandboxed workers at the configured concurrency) versus the same conversions in a bare in-process loop; the
 * GIF → WebP size reduction with SSIM of the first frame; and empty-job throughput of our worker setup versus a
 * minimal BullMQ worker. Uses REDIS_URL (or starts a local redis-server) and a private queue prefix.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import sharp from 'sharp';
import { loadCommonConfig } from '../common/config.ts';
import { rootLogger } from '../common/logger.ts';
import { ensureRedis } from '../common/redis.ts';
import {
  loadWorkersConfig,
  renderEmoji,
  WorkerFleet,
  packStatus,
  scanPack,
  Producers,
  writeSamplePack,
  SandboxedWorker,
  writeFileAtomic,
} from '../workers/index.ts';
import { emit, percentile, ratio, round, sortedCopy } from './_harness.ts';

const COUNT = Math.max(200, Number(process.argv[2] ?? 200));
const EMPTY_JOBS = 2000;
const common = loadCommonConfig();
const logger = rootLogger('warn');
const config = loadWorkersConfig(
  { ...process.env, WORKERS_PREFIX: `bench-emoji-${process.pid}` },
  common.RESOUND_DATA_DIR,
);
const redis = await ensureRedis(common.REDIS_URL, common.RESOUND_DATA_DIR, logger);
const connection = { url: redis.url, maxRetriesPerRequest: null };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-bench-emoji-'));
const sizes = config.WORKERS_EMOJI_SIZES;

emit({
  bench: 'emoji',
  figure: 'setup',
  emojis: COUNT,
  animated: Math.floor(COUNT / 2),
  sizes,
  concurrency: config.WORKERS_CONCURRENCY_EMOJI,
  cpus: os.availableParallelism(),
});
const packDir = path.join(work, 'pack');
await writeSamplePack(packDir, COUNT, { seed: 2026 });

/** Queue path: one pack through the flow, sandboxed children, atomic writes, summary. */
async function viaQueue(): Promise<number> {
  const producers = new Producers({ connection, prefix: config.WORKERS_PREFIX, attempts: 3, backoffMs: 1000, logger });
  const fleet = new WorkerFleet({ connection, config: { ...config, WORKERS_QUEUES: ['emoji'] }, logger });
  await fleet.waitUntilReady();
  fs.rmSync(path.join(work, 'queue-out'), { recursive: true, force: true });
  const input = await scanPack(packDir, {
    outDir: path.join(work, 'queue-out'),
    sizes,
    maxBytes: config.WORKERS_EMOJI_MAX_BYTES,
  });
  const t0 = performance.now();
  const { packId } = await producers.addEmojiPack(input);
  for (;;) {
    const s = await packStatus(producers.queues.emoji, packId);
    if (s?.state === 'completed') {
      if (s.summary?.failed)
        throw new Error(`bench pack had failures: ${JSON.stringify(s.summary.failures.slice(0, 3))}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  await fleet.close();
  await producers.queues.emoji.obliterate({ force: true });
  await producers.close();
  return seconds;
}

/** Bare loop: the same renderEmoji + atomic writes, one emoji after another, no Redis, no children. */
async function bareLoop(): Promise<number> {
  const files = fs.readdirSync(packDir).sort();
  const t0 = performance.now();
  fs.rmSync(path.join(work, 'bare-out'), { recursive: true, force: true });
  for (const f of files) {
    const input = fs.readFileSync(path.join(packDir, f));
    const name = path.basename(f, path.extname(f));
    const { files: out, result } = await renderEmoji(input, {
      name,
      sha256: '0'.repeat(64),
      sizes,
      maxBytes: config.WORKERS_EMOJI_MAX_BYTES,
    });
    for (const o of out) await writeFileAtomic(path.join(work, 'bare-out', name, o.file), o.data);
    await writeFileAtomic(path.join(work, 'bare-out', name, 'emoji.json'), JSON.stringify(result));
  }
  return (performance.now() - t0) / 1000;
}

// ABBA order, best of two each: the machine is shared, so neither side should get only the quiet or the busy half.
const bare1 = await bareLoop();
const queue1 = await viaQueue();
const queue2 = await viaQueue();
const bare2 = await bareLoop();
const bareS = Math.min(bare1, bare2);
const queueS = Math.min(queue1, queue2);
emit({
  bench: 'emoji',
  figure: 'pack_throughput',
  emojis: COUNT,
  queue_emojis_per_s: round(COUNT / queueS),
  queue_seconds: round(queueS),
  baseline: 'bare_in_process_loop',
  baseline_emojis_per_s: round(COUNT / bareS),
  baseline_seconds: round(bareS),
  ratio: ratio(COUNT / queueS, COUNT / bareS),
  concurrency: config.WORKERS_CONCURRENCY_EMOJI,
});

/** Mean SSIM over 8×8 windows (stride 4) of luma, both images flattened on mid-grey so transparency compares too. */
async function ssim(a: Buffer, b: Buffer): Promise<number> {
  const luma = async (img: Buffer) => {
    const { data, info } = await sharp(img, { pages: 1 })
      .flatten({ background: '#808080' })
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, w: info.width, h: info.height };
  };
  const x = await luma(a);
  const y = await luma(b);
  if (x.w !== y.w || x.h !== y.h) throw new Error(`ssim: ${x.w}x${x.h} vs ${y.w}x${y.h}`);
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let sum = 0;
  let n = 0;
  for (let by = 0; by + 8 <= x.h; by += 4) {
    for (let bx = 0; bx + 8 <= x.w; bx += 4) {
      let mx = 0,
        my = 0,
        vx = 0,
        vy = 0,
        cov = 0;
      for (let j = 0; j < 8; j++)
        for (let i = 0; i < 8; i++) {
          const p = (by + j) * x.w + bx + i;
          mx += x.data[p];
          my += y.data[p];
        }
      mx /= 64;
      my /= 64;
      for (let j = 0; j < 8; j++)
        for (let i = 0; i < 8; i++) {
          const p = (by + j) * x.w + bx + i;
          vx += (x.data[p] - mx) ** 2;
          vy += (y.data[p] - my) ** 2;
          cov += (x.data[p] - mx) * (y.data[p] - my);
        }
      vx /= 63;
      vy /= 63;
      cov /= 63;
      sum += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      n++;
    }
  }
  return sum / n;
}

// GIF → WebP: what the animated half of the queue run wrote, at the largest size (the sources are smaller, so that
// is the source's own resolution and the GIF source's first frame is a clean reference).
const largest = Math.max(...sizes);
const reductions: number[] = [];
const ssims: number[] = [];
for (const f of fs
  .readdirSync(packDir)
  .filter((x) => x.endsWith('.gif'))
  .sort()) {
  const dir = path.join(work, 'queue-out', path.basename(f, '.gif'));
  const webp = fs.readFileSync(path.join(dir, `${largest}.webp`));
  const gif = fs.readFileSync(path.join(dir, `${largest}.gif`));
  reductions.push(1 - webp.length / gif.length);
  ssims.push(await ssim(fs.readFileSync(path.join(packDir, f)), webp));
}
const red = sortedCopy(reductions);
const ss = sortedCopy(ssims);
emit({
  bench: 'emoji',
  figure: 'gif_to_webp',
  animated_emojis: reductions.length,
  size_px: largest,
  reduction_median: round(percentile(red, 50), 3),
  reduction_p95: round(percentile(red, 95), 3),
  baseline: 'gifsicle_gif_same_size',
  ratio_webp_over_gif_median: round(1 - percentile(red, 50), 3),
  ssim_first_frame_median: round(percentile(ss, 50), 4),
  ssim_first_frame_min: round(ss[0], 4),
});

/** Empty jobs/s: pre-load the queue, then time how long a worker takes to drain it. */
async function emptyJobsPerSecond(kind: 'ours' | 'minimal'): Promise<number> {
  const name = `empty-${kind}`;
  const prefix = `${config.WORKERS_PREFIX}-${kind}`;
  const queue = new Queue(name, { connection, prefix });
  await queue.addBulk(
    Array.from({ length: EMPTY_JOBS }, (_, i) => ({ name: 'noop', data: { i }, opts: { removeOnComplete: true } })),
  );
  let done = 0;
  let finish!: () => void;
  const drained = new Promise<void>((r) => (finish = r));
  const t0 = performance.now();
  const worker =
    kind === 'ours'
      ? new SandboxedWorker(name, fileURLToPath(new URL('./_emoji-noop-processor.ts', import.meta.url)), {
          connection,
          prefix,
          concurrency: config.WORKERS_CONCURRENCY_EMOJI,
          timeoutMs: config.WORKERS_JOB_TIMEOUT_MS,
        })
      : new Worker(name, async (job) => job.id, { connection, prefix, concurrency: config.WORKERS_CONCURRENCY_EMOJI });
  worker.on('completed', () => {
    if (++done === EMPTY_JOBS) finish();
  });
  await drained;
  const seconds = (performance.now() - t0) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return EMPTY_JOBS / seconds;
}

const ours = await emptyJobsPerSecond('ours');
const minimal = await emptyJobsPerSecond('minimal');
emit({
  bench: 'emoji',
  figure: 'empty_job_overhead',
  jobs: EMPTY_JOBS,
  concurrency: config.WORKERS_CONCURRENCY_EMOJI,
  ours_jobs_per_s: round(ours),
  ours: 'SandboxedWorker (child processes, per-job timeout)',
  baseline: 'minimal bullmq Worker, inline async processor',
  baseline_jobs_per_s: round(minimal),
  ratio: ratio(ours, minimal),
});

fs.rmSync(work, { recursive: true, force: true });
await redis.close();
