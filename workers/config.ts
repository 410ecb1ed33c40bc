import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { bool, parseEnv, port, type Env } from '../common/config.ts';

export const QUEUE_NAMES = ['emoji', 'prerender', 'audio'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

const positiveInt = (dflt: number) => z.coerce.number().int().positive().default(dflt);
const sizeList = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'must be a comma-separated list of pixel sizes such as 16,32,48')
  .transform((s) => [...new Set(s.split(',').map(Number))].sort((a, b) => a - b))
  .refine((a) => a.every((n) => n >= 8 && n <= 4096), 'each size must be between 8 and 4096');

/** Every variable the workers part reads; see workers/README.md for what each one is for. */
export const workersShape = {
  WORKERS_PORT: port(8095),
  /** Bearer token for the bull-board dashboard; unset means one generated once into the data folder. */
  WORKERS_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Which queues this process consumes, so a fleet can split CPU-heavy queues across machines. */
  WORKERS_QUEUES: z
    .string()
    .default(QUEUE_NAMES.join(','))
    // `none`: a process that only serves the dashboard and /metrics (an empty value means the default).
    .transform((s) =>
      s.trim() === 'none'
        ? []
        : s
            .split(',')
            .map((q) => q.trim())
            .filter(Boolean),
    )
    .pipe(z.array(z.enum(QUEUE_NAMES)).min(0)),
  /** Unset: this instance's own prefix (see instancePrefix); a fleet sets the same value on every member. */
  WORKERS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .optional(),
  WORKERS_CONCURRENCY_EMOJI: positiveInt(2),
  WORKERS_CONCURRENCY_PRERENDER: positiveInt(2),
  WORKERS_CONCURRENCY_AUDIO: positiveInt(1),
  WORKERS_ATTEMPTS: positiveInt(3),
  WORKERS_BACKOFF_MS: positiveInt(1000),
  WORKERS_JOB_TIMEOUT_MS: positiveInt(120_000),
  WORKERS_SHUTDOWN_GRACE_MS: positiveInt(30_000),
  /** How long a job's lock lives without renewal: a dead worker's jobs are handed on after about this long. */
  WORKERS_LOCK_MS: positiveInt(30_000),
  WORKERS_STALLED_INTERVAL_MS: positiveInt(15_000),
  /** A job whose worker died this many times is failed instead of handed on again. */
  WORKERS_MAX_STALLED: z.coerce.number().int().min(0).default(2),
  WORKERS_EMOJI_SIZES: z.string().default('16,32,48,64,96,128').pipe(sizeList),
  /** libvips threads in each sandboxed emoji child; concurrency × threads should be about the core count. */
  WORKERS_SHARP_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  WORKERS_EMOJI_MAX_BYTES: positiveInt(8 * 1024 * 1024),
  /** Widths pre-rendered for every uploaded attachment (WebP, aspect kept). */
  WORKERS_PRERENDER_WIDTHS: z.string().default('320,640,1280').pipe(sizeList),
  WORKERS_AUDIO_BITRATE: z.coerce.number().int().min(6000).max(510_000).default(64_000),
  WORKERS_AUDIO_MAX_SECONDS: positiveInt(1200),
  WORKERS_AUDIO_MAX_BYTES: positiveInt(256 * 1024 * 1024),
  WORKERS_AUDIO_OUT_DIR: z.string().optional(),
  /** Bull-board may change queues (retry, clean, promote, pause); read-only by default. */
  WORKERS_DASHBOARD_WRITABLE: bool(false),
  /**
   * Folders job data may name (sources and outputs), comma-separated absolute paths; anything else fails the job
   * with `path_not_allowed`. Unset = the data folder, the working directory and the system temp folder.
   */
  WORKERS_PATH_ROOTS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().refine((p) => path.isAbsolute(p), 'each root must be an absolute path')).min(1))
    .optional(),
};

export type WorkersConfig = Omit<z.infer<z.ZodObject<typeof workersShape>>, 'WORKERS_PREFIX'> & {
  WORKERS_PREFIX: string;
  audioOutDir: string;
  pathRoots: string[];
};

export function loadWorkersConfig(env: Env, dataDir: string): WorkersConfig {
  const c = parseEnv(workersShape, env);
  return {
    ...c,
    WORKERS_PREFIX: c.WORKERS_PREFIX ?? instancePrefix(dataDir),
    audioOutDir: path.resolve(c.WORKERS_AUDIO_OUT_DIR ?? path.join(dataDir, 'audio')),
    pathRoots: c.WORKERS_PATH_ROOTS ?? [path.resolve(dataDir), process.cwd(), os.tmpdir()],
  };
}

/**
 * The queue prefix of an instance that did not configure one: `resound-<random>`, generated once into its data folder.
 * Two independent instances on one Redis (two checkouts, two containers with their own volumes) so never take each
 * other's jobs, while the same instance keeps its queues across restarts, and the CLI run beside it (same data folder)
 * finds them. A fleet opts in to sharing by setting the same WORKERS_PREFIX everywhere.
 */
export function instancePrefix(dataDir: string): string {
  const file = path.join(path.resolve(dataDir), 'workers-prefix');
  const read = () => fs.readFileSync(file, 'utf8').trim();
  try {
    return read();
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      fs.writeFileSync(file, `resound-${randomBytes(5).toString('hex')}\n`, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // EEXIST: another process won the race
    }
    return read();
  }
}

export function concurrencyOf(c: WorkersConfig, q: QueueName): number {
  return q === 'emoji'
    ? c.WORKERS_CONCURRENCY_EMOJI
    : q === 'prerender'
      ? c.WORKERS_CONCURRENCY_PRERENDER
      : c.WORKERS_CONCURRENCY_AUDIO;
}
