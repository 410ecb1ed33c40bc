import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { redactText } from './logger.ts';

export { Redis };

export interface RedisHandle {
  url: string;
  /** The local redis-server this process started because nothing answered REDIS_URL, if any. */
  child?: ChildProcess;
  close(): Promise<void>;
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

/**
 * Use REDIS_URL when something answers it; otherwise start a local `redis-server` child on a free port (laptops
 * without Redis), or fail with the command that installs it.
 */
export async function ensureRedis(url: string, dataDir: string, log: Logger): Promise<RedisHandle> {
  if (await redisAnswers(url)) return { url, close: async () => {} };
  const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) {
    throw new Error(
      `nothing answers REDIS_URL=${redactText(url)} and no redis-server binary was found: install Redis (apt-get install redis-server, ` +
        'brew install redis) or point REDIS_URL at a running server',
    );
  }
  const port = await freePort();
  const dir = path.join(dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
    {
      stdio: 'ignore',
    },
  );
  const local = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(local, 200)) {
      log.warn(
        { requested: redactText(url), started: local },
        'REDIS_URL did not answer; started a local redis-server child',
      );
      return {
        url: local,
        child,
        close: async () => {
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
