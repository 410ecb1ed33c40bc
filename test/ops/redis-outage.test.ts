/**
 * An operator's bad day with Redis, against a real `resound start` on a redis-server of the test's own (the shared
 * one on 6379 is never touched): Redis dies while the proxy and the workers serve, then comes back; and an explicit
 * REDIS_URL that does not answer yet.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { multipartBody } from '../media-proxy/helpers.ts';
import { Producers } from '../../workers/index.ts';
import { quietLogger, uniquePrefix, waitFor } from '../workers/helpers.ts';
import { dataDir, instanceEnv, ownRedis, ROOT, watch, type LogLine, type Watched } from './process.ts';

const started: Watched[] = [];
afterAll(async () => {
  for (const w of started) if (w.child.exitCode === null) w.child.kill('SIGKILL');
});

function resound(tag: string, parts: string[], env: Record<string, string>): Watched {
  const w = watch(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bin', 'resound.ts'), 'start', ...parts], {
    env: instanceEnv(tag, env),
  });
  started.push(w);
  return w;
}

const listeningUrl = async (w: Watched, part: string) =>
  String((await w.line((l) => l.msg === 'listening' && l.part === part, `${part} listening`)).url);

/**
 * Requests while Redis is down must be answered promptly; before the breaker each took about 10 s or never
 * answered. The bound is generous (a loaded CI machine) but far below that.
 */
const PROMPT_MS = 5000;
const get = (url: string, init: RequestInit = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(PROMPT_MS) });

describe('Redis goes away under a running instance', () => {
  let redis: Awaited<ReturnType<typeof ownRedis>> | undefined;
  afterAll(async () => {
    await redis?.kill();
  });

  it('the proxy serves uncached and says 503 at once, uploads succeed, the workers answer; one JSON line per cause', async () => {
    redis = await ownRedis();
    await redis.start();
    const data = dataDir('outage');
    const prefix = uniquePrefix('outage');
    const app = resound('outage', ['proxy', 'workers'], {
      REDIS_URL: redis.url,
      WORKERS_PREFIX: prefix,
      RESOUND_DATA_DIR: data,
    });
    const proxy = await listeningUrl(app, 'proxy');
    const workers = await listeningUrl(app, 'workers');
    await app.line((l) => l.msg === 'workers consuming', 'workers consuming');
    const token = fs.readFileSync(path.join(data, 'secrets', 'workers-admin-token'), 'utf8').trim();
    const dashboardApi = () =>
      get(`${workers}/admin/queues/api/queues?activeQueue=audio&page=1`, {
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await dashboardApi()).status).toBe(200);

    const upload = async () => {
      const { body, headers } = multipartBody(fs.readFileSync(path.join(ROOT, 'fixtures/images/photo.jpg')), 'p.jpg');
      const res = await get(`${proxy}/attachments/81384788765712385`, { method: 'POST', body, headers });
      expect(res.status).toBe(200);
      return ((await res.json()) as { url: string }).url;
    };
    const variant = (url: string) => `${url}&width=64&format=webp`;
    const cached = await upload();
    expect((await get(variant(cached))).headers.get('x-resound-cache')).toBe('miss');
    await waitFor('the variant to be cached', async () => {
      const r = await get(variant(cached));
      return r.headers.get('x-resound-cache') === 'hit';
    });

    await redis.kill();
    const linesBefore = app.lines.length;
    // Known down: every answer below comes without waiting on Redis.
    const health = await get(`${proxy}/healthz`);
    expect(health.status).toBe(503);
    const again = await get(variant(cached));
    expect(again.status).toBe(200);
    expect(again.headers.get('content-type')).toBe('image/webp');
    const fresh = await upload(); // the pre-render enqueue fails fast; the upload itself succeeds
    expect((await get(variant(fresh))).status).toBe(200);
    expect((await get(`${workers}/healthz`)).status).toBe(503);
    const metrics = await get(`${workers}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/resound_workers_job_duration_seconds/);
    expect((await dashboardApi()).status).toBeGreaterThanOrEqual(200); // answered (not hung), whatever it says
    for (let i = 0; i < 20; i++) expect((await get(variant(cached))).status).toBe(200);

    // The log: JSON only, no ioredis stack printer, and the outage said once per cause rather than per command.
    const outageLines = () =>
      app.lines.slice(linesBefore).filter((l: LogLine) => /Redis unreachable/.test(String(l.msg)));
    // The line is written when a client notices; on a loaded machine that may come after the answers above.
    await waitFor('the outage to be logged', () => Promise.resolve(outageLines().length > 0), 15_000);
    const outage = outageLines();
    expect(outage.length).toBeGreaterThan(0);
    const perCause = new Map<string, number>();
    // One line per cause for each Redis connection (the proxy has its cache index and its pre-render producer).
    for (const l of outage) {
      const key = `${l.part}:${l.client}:${l.cause}`;
      perCause.set(key, (perCause.get(key) ?? 0) + 1);
    }
    for (const [cause, n] of perCause) expect(n, cause).toBe(1);
    expect(app.other).toEqual([]);
    expect(app.stderr()).toBe('');

    // Back: the breaker's probe reconnects and the cache is used again.
    await redis.start();
    await waitFor('the proxy to be healthy again', async () => (await get(`${proxy}/healthz`)).status === 200);
    await waitFor('the workers to be healthy again', async () => (await get(`${workers}/healthz`)).status === 200);
    expect(app.lines.some((l) => l.msg === 'Redis reachable again')).toBe(true);
    // The queue workers reconnect on BullMQ's own backoff; stop once they are consuming again (CLIENT LIST shows them).
    const queues = new Producers({
      connection: { url: redis.url },
      prefix,
      attempts: 1,
      backoffMs: 1,
      logger: quietLogger,
    });
    try {
      await waitFor('the workers to consume again', async () => (await queues.queues.audio.getWorkersCount()) > 0);
    } finally {
      await queues.close();
    }
    app.child.kill('SIGTERM');
    expect((await app.exited).code).toBe(0);
  }, 120_000);
});

describe('Redis hangs with its connections open', () => {
  it('a timed-out probe opens the breaker: the proxy answers without waiting on Redis, and recovers when it wakes', async () => {
    const redis = await ownRedis();
    await redis.start();
    try {
      const app = resound('hang', ['proxy'], { REDIS_URL: redis.url, MEDIA_PROXY_PRERENDER: 'false' });
      const proxy = await listeningUrl(app, 'proxy');
      expect((await get(`${proxy}/healthz`)).status).toBe(200);
      redis.pause();
      // Known down once the breaker's PING timed out (logged as its own cause)…
      await app.line((l) => /Redis unreachable/.test(String(l.msg)) && l.cause === 'ETIMEDOUT', 'the breaker to open');
      // …after which answers come without waiting on the stopped server.
      for (let i = 0; i < 10; i++) expect((await get(`${proxy}/healthz`)).status).toBe(503);
      redis.resume();
      await waitFor('the proxy to be healthy again', async () => (await get(`${proxy}/healthz`)).status === 200);
      app.child.kill('SIGTERM');
      expect((await app.exited).code).toBe(0);
      expect(app.stderr()).toBe('');
    } finally {
      redis.resume();
      await redis.kill();
    }
  }, 60_000);
});

describe('an explicit REDIS_URL that does not answer', () => {
  it('is waited for with one clear line, never replaced by a private redis-server', async () => {
    const later = await ownRedis();
    const url = later.url;
    const app = resound('explicit', ['proxy'], { REDIS_URL: url });
    const waiting = await app.line((l) => String(l.msg).startsWith('waiting for Redis'), 'the waiting line');
    expect(waiting.msg).toBe(`waiting for Redis at REDIS_URL=${url} (it does not answer); retrying`);
    expect(app.lines.some((l) => l.msg === 'listening')).toBe(false);
    // Redis appears at exactly that address: the proxy starts on it.
    await later.start();
    try {
      await app.line((l) => l.msg === 'Redis answers', 'Redis answers', 30_000);
      await listeningUrl(app, 'proxy');
      expect(app.lines.filter((l) => String(l.msg).startsWith('waiting for Redis'))).toHaveLength(1);
      expect(app.lines.some((l) => /private redis-server/.test(String(l.msg)))).toBe(false);
      app.child.kill('SIGTERM');
      expect((await app.exited).code).toBe(0);
    } finally {
      await later.kill();
    }
  }, 60_000);
});
