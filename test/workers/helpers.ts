import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { Registry } from '../../common/metrics.ts';
import { loadWorkersConfig, type WorkersConfig } from '../../workers/config.ts';
import { WorkerFleet } from '../../workers/fleet.ts';
import { WorkerMetrics } from '../../workers/metrics.ts';
import { Producers } from '../../workers/producer.ts';
import { ROOT, tempDir as scratchDir, spawnResound, type Spawned } from '../../testkit/index.ts';
import { encodeWav16, sha256Of, type AudioJobData } from '../../workers/index.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const quietLogger = pino({ level: 'silent' });

/** A BullMQ prefix of its own per test, so parallel files never see each other's queues. */
export function uniquePrefix(tag: string): string {
  return `t-${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export const tempDir = (tag: string): string => scratchDir(`workers-${tag}`);

export function testConfig(prefix: string, env: Record<string, string> = {}): WorkersConfig {
  return loadWorkersConfig(
    {
      WORKERS_PREFIX: prefix,
      WORKERS_PORT: '0',
      WORKERS_BACKOFF_MS: '100',
      WORKERS_LOCK_MS: '4000',
      WORKERS_STALLED_INTERVAL_MS: '1000',
      WORKERS_JOB_TIMEOUT_MS: '60000',
      WORKERS_SHUTDOWN_GRACE_MS: '10000',
      ...env,
    },
    tempDir('data'),
  );
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function sine(rate: number, channels: number, seconds: number, freqs = [440, 660]): Float32Array {
  const n = Math.round(rate * seconds);
  const s = new Float32Array(n * channels);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < channels; c++)
      s[i * channels + c] = 0.4 * Math.sin((2 * Math.PI * freqs[c % freqs.length] * i) / rate);
  return s;
}

/** `resound start workers` as its own process group, resolved once it logs that it is consuming. */
export async function spawnWorkerProcess(env: Record<string, string>): Promise<Spawned> {
  const p = spawnResound(['start', 'workers'], {
    env: { LOG_LEVEL: 'info', WORKERS_PORT: '0', ...env },
    detached: true,
  });
  await p.waitForLine((l) => l.includes('"workers consuming"'), 60_000);
  return { ...p, kill: (signal = 'SIGKILL') => p.kill(signal) };
}

export interface DedicatedRedis {
  url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server of its own with AOF on, on a free port, so a test may restart it without touching anyone else. */
export async function startDedicatedRedis(): Promise<DedicatedRedis> {
  const { spawn } = await import('node:child_process');
  const { redisAnswers } = await import('../../common/redis.ts');
  const { freePort } = await import('../../testkit/index.ts');
  const port = await freePort();
  const dir = tempDir('redis');
  const url = `redis://127.0.0.1:${port}`;
  let proc: import('node:child_process').ChildProcess;
  const up = async () => {
    proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    await waitFor('redis to answer', () => redisAnswers(url), 10_000);
  };
  const down = async (signal: NodeJS.Signals) => {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await exited;
  };
  await up();
  return {
    url,
    restart: async () => {
      await down('SIGKILL');
      await up();
    },
    stop: () => down('SIGTERM'),
  };
}

/** Every file under `dir` (relative path → bytes), temp files included so a leftover one fails the comparison. */
export function treeOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const rel of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const abs = path.join(dir, rel);
    if (fs.statSync(abs).isFile() && path.basename(rel) !== 'pack-summary.json') out.set(rel, fs.readFileSync(abs));
  }
  return out;
}

/**
 * Waits for a job to reach a finished state and returns it loaded after that: reading the job first and its state
 * second would race a job that finishes in between (stale fields, fresh state).
 */
export async function finishedJob(
  queue: import('bullmq').Queue,
  id: string,
  states: string[] = ['completed', 'failed'],
): Promise<import('bullmq').Job> {
  const { Job } = await import('bullmq');
  return waitFor(`job ${id} to finish`, async () => {
    const state = await queue.getJobState(id);
    if (!states.includes(state)) return undefined;
    return (await Job.fromId(queue, id)) ?? undefined;
  });
}

/** Removes every key a test's producers made (each Producers instance touches all three queues). */
export async function obliterateAll(p: { queues: Record<string, import('bullmq').Queue> }): Promise<void> {
  for (const q of Object.values(p.queues)) await q.obliterate({ force: true });
}

/** Producers on a test's own prefix. */
export function testProducers(prefix: string, attempts = 3, backoffMs = 100): Producers {
  return new Producers({
    connection: { url: REDIS_URL, maxRetriesPerRequest: null },
    prefix,
    attempts,
    backoffMs,
    logger: quietLogger,
  });
}

/** Removes what `producers` made in Redis and closes them. */
export async function clearProducers(producers: Producers): Promise<void> {
  await obliterateAll(producers);
  await producers.close();
}

/** Removes every queue's keys under `prefix`, for jobs a spawned CLI or worker process left behind. */
export const obliterateQueues = (prefix: string): Promise<void> => clearProducers(testProducers(prefix, 1, 1));

/** Producers for a whole test file, cleared (queues obliterated) after all its tests. */
export function useProducers(prefix: string): Producers {
  const producers = testProducers(prefix);
  afterAll(() => clearProducers(producers));
  return producers;
}

/** `resound …` in a child process with `env` over this process's environment; resolves with its exit and output. */
export function runResound(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'bin', 'resound.ts'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Producers and an in-process worker fleet for one test file, started before its tests and torn down (queues
 * obliterated) after. `fleetOptions` adds e.g. replacement processor files.
 */
export function useFleet(
  prefix: string,
  config: WorkersConfig,
  opts: { attempts?: number; fleetOptions?: Partial<ConstructorParameters<typeof WorkerFleet>[0]> } = {},
): { readonly producers: Producers; readonly fleet: WorkerFleet; readonly registry: Registry } {
  const connection = { url: REDIS_URL, maxRetriesPerRequest: null };
  const registry = new Registry();
  const ctx = { producers: undefined as unknown as Producers, fleet: undefined as unknown as WorkerFleet, registry };
  beforeAll(async () => {
    ctx.producers = new Producers({
      connection,
      prefix,
      attempts: opts.attempts ?? 3,
      backoffMs: 100,
      logger: quietLogger,
      registry,
    });
    ctx.fleet = new WorkerFleet({
      connection,
      config,
      logger: quietLogger,
      metrics: new WorkerMetrics(registry, () => Object.values(ctx.producers.queues)),
      ...opts.fleetOptions,
    });
    await ctx.fleet.waitUntilReady();
  });
  afterAll(async () => {
    await ctx.fleet.close();
    await obliterateAll(ctx.producers);
    await ctx.producers.close();
  });
  return ctx;
}

/** An audio job for a WAV of `seconds` of tone written into `dir` (long ones keep a worker busy for a while). */
export function toneAudioJob(dir: string, name: string, seconds: number): AudioJobData {
  const wav = encodeWav16(sine(48_000, 2, seconds), 48_000, 2);
  const source = path.join(dir, name);
  fs.writeFileSync(source, wav);
  return {
    source,
    sha256: sha256Of(wav),
    outDir: path.join(dir, 'out'),
    input: { format: 'wav' },
    bitrate: 64_000,
    maxSeconds: 600,
    purpose: 'other',
  };
}
