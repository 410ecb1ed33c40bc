import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimitedLog } from './logger.ts';

export { Redis };

/** Where Redis is looked for when REDIS_URL is unset (and, failing that, where a private child is started). */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RedisHandle {
  url: string;
  /** The local redis-server this process started because REDIS_URL was unset and nothing answered, if any. */
  child?: ChildProcess;
  close(): Promise<void>;
}

/** The URL as it may appear in a log line (password masked). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** True when a Redis server answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** An explicit REDIS_URL did not answer within the time the caller was willing to wait. */
export class RedisUnreachableError extends Error {
  constructor(url: string, waitedMs: number) {
    super(
      `REDIS_URL=${redactUrl(url)} did not answer for ${Math.round(waitedMs / 1000)} s; start Redis there or point ` +
        'REDIS_URL at a running server (unset it to let Resound start a private redis-server)',
    );
    this.name = 'RedisUnreachableError';
  }
}

export interface EnsureRedisOptions {
  /** How long to wait for an explicit REDIS_URL before giving up (default: forever, a fleet member waits). */
  waitMs?: number;
  /** Told once when waiting starts (the CLI shows it in place of its progress line). */
  onWaiting?: (message: string) => void;
  /** Stops the wait (shutdown during start-up). */
  signal?: AbortSignal;
  /** Where to look when `requested` is unset (tests point it at a port where nothing answers). */
  defaultUrl?: string;
}

/**
 * The Redis this process uses. `requested` is REDIS_URL as configured (undefined when unset):
 * - unset: the default URL if it answers, else a private `redis-server` child on a free port (laptops without Redis);
 * - set: that URL and nothing else. While it does not answer we wait, saying so once, because a fleet member that
 *   quietly used a substitute would split off from the shared queues.
 */
export async function ensureRedis(
  requested: string | undefined,
  dataDir: string,
  log: Logger,
  opts: EnsureRedisOptions = {},
): Promise<RedisHandle> {
  const url = requested ?? opts.defaultUrl ?? DEFAULT_REDIS_URL;
  if (await redisAnswers(url)) return { url, close: async () => {} };
  if (requested === undefined) return startLocalRedis(url, dataDir, log);
  const started = Date.now();
  const message = `waiting for Redis at REDIS_URL=${redactUrl(url)} (it does not answer); retrying`;
  log.warn({ url: redactUrl(url) }, message);
  opts.onWaiting?.(message);
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    if (opts.signal?.aborted) throw new Error('stopped while waiting for Redis');
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delay);
      opts.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
    if (opts.signal?.aborted) throw new Error('stopped while waiting for Redis');
    if (await redisAnswers(url)) {
      log.info({ url: redactUrl(url), waited_ms: Date.now() - started }, 'Redis answers');
      return { url, close: async () => {} };
    }
    if (Date.now() - started >= (opts.waitMs ?? Infinity)) throw new RedisUnreachableError(url, Date.now() - started);
  }
}

async function startLocalRedis(looked: string, dataDir: string, log: Logger): Promise<RedisHandle> {
  const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) {
    throw new Error(
      `nothing answers ${looked} and no redis-server binary was found: install Redis (apt-get install ` +
        'redis-server, brew install redis) or set REDIS_URL to a running server',
    );
  }
  const port = await freePort();
  const dir = path.join(dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
    { stdio: 'ignore' },
  );
  const local = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(local, 200)) {
      log.info(
        { started: local, dir },
        `REDIS_URL is unset and nothing answers ${looked}; started a private redis-server`,
      );
      return {
        url: local,
        child,
        close: async () => {
          if (child.exitCode !== null) return;
          child.kill('SIGTERM');
          await new Promise((r) => child.once('exit', r));
        },
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`started redis-server on port ${port} but it never answered; see ${dir}`);
}

export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, ...opts });
}

const outageLogs = new WeakMap<Logger, RateLimitedLog>();

/**
 * Gives a client (or a BullMQ queue/worker, which re-emits its clients' errors) an `error` listener, so an outage never
 * reaches ioredis' "Unhandled error event" stack printer, and logs it as one JSON line per cause (ECONNREFUSED,
 * ETIMEDOUT, …) at most every 10 s for the whole process, plus one line when the connection is back.
 */
export function watchRedis(
  emitter: { on(event: 'error', fn: (err: Error) => void): unknown; on(event: 'ready', fn: () => void): unknown },
  log: Logger,
  name: string,
): void {
  let rlog = outageLogs.get(log);
  if (!rlog) outageLogs.set(log, (rlog = new RateLimitedLog(log)));
  let down = false;
  emitter.on('error', (err: Error & { code?: string }) => {
    const cause = err.code ?? err.message;
    down = true;
    rlog.warn(`redis-down:${cause}`, { client: name, cause }, 'Redis unreachable; failing fast and retrying');
  });
  emitter.on('ready', () => {
    if (down) log.info({ client: name }, 'Redis reachable again');
    down = false;
  });
}

/**
 * A client for request paths (cache index, health checks, queue reads behind HTTP): once the connection is known to be
 * down, commands fail at once instead of waiting in ioredis' offline queue, and a command on a connection that hangs
 * gives up after `commandTimeoutMs`. The reconnect loop is the breaker's probe: the first successful reconnect closes
 * it again. Blocking commands (BullMQ workers) must not use this client.
 */
export function failFastRedisOptions(commandTimeoutMs = 100): {
  enableOfflineQueue: false;
  maxRetriesPerRequest: number;
  commandTimeout: number;
  connectTimeout: number;
  retryStrategy: (attempt: number) => number;
} {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000),
  };
}

export function createFailFastRedis(url: string, log: Logger, name: string, commandTimeoutMs?: number): Redis {
  const client = new Redis(url, failFastRedisOptions(commandTimeoutMs));
  watchRedis(client, log, name);
  // A server that hangs (stopped, swapping, partitioned without a reset) keeps the socket open, so ioredis never
  // learns it is gone and every command would wait out its timeout. A PING that times out opens the breaker: drop
  // the connection, so commands fail at once until the reconnect loop finds the server answering again.
  const probe = setInterval(() => {
    if (client.status !== 'ready') return;
    client.ping().catch((err: Error) => {
      if (!/timed out/i.test(err.message) || client.status !== 'ready') return;
      client.emit('error', Object.assign(new Error('Redis did not answer PING in time'), { code: 'ETIMEDOUT' }));
      client.disconnect(true);
    });
  }, 1000);
  probe.unref();
  client.once('end', () => clearInterval(probe));
  return client;
}

/** Resolves true once `client` is connected (at once if it already is), false after `timeoutMs` without it. */
export function redisReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on('ready', onReady);
  });
}
