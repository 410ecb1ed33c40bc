import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCommonConfig } from '../../common/config.ts';
import type { RunningPart } from '../../common/part.ts';
import { authorized } from '../../workers/dashboard.ts';
import { start } from '../../workers/index.ts';
import { obliterateQueues, REDIS_URL, tempDir, uniquePrefix } from './helpers.ts';

const prefix = uniquePrefix('server');
const TOKEN = 'admin-token-for-the-workers-test';
const logLines: Record<string, unknown>[] = [];
let part: RunningPart;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        logLines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const env = {
    WORKERS_PREFIX: prefix,
    WORKERS_PORT: '0',
    WORKERS_ADMIN_TOKEN: TOKEN,
    WORKERS_QUEUES: 'audio',
    RESOUND_DATA_DIR: tempDir('server-data'),
  };
  part = await start({
    env,
    common: loadCommonConfig(env),
    logger: pino({ level: 'info' }, sink),
    redis: async () => ({ url: REDIS_URL, close: async () => {} }),
  });
});

afterAll(async () => {
  await part.close();
  await obliterateQueues(prefix);
});

describe('workers part HTTP server', () => {
  it('logs one listening line with its ephemeral port', () => {
    const listening = logLines.filter((l) => l.msg === 'listening');
    expect(listening).toHaveLength(1);
    expect(listening[0]).toMatchObject({ part: 'workers', url: part.urls.http });
    expect(part.urls.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(part.urls.http).not.toMatch(/:8095$/);
  });

  it('answers /healthz with Redis reachable', async () => {
    const r = await fetch(`${part.urls.http}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ok: true, part: 'workers', redis: 'ok' });
  });

  it('guards the dashboard with the admin token, counting and explaining refusals', async () => {
    const none = await fetch(`${part.urls.dashboard}/api/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="resound-workers"/);
    expect(await none.json()).toEqual({
      error: { code: 'unauthorized', message: expect.stringMatching(/admin token/) },
    });
    const wrong = await fetch(`${part.urls.dashboard}/api/queues`, {
      headers: { authorization: 'Bearer not-the-token-at-all-nope' },
    });
    expect(wrong.status).toBe(401);
    const bearer = await fetch(`${part.urls.dashboard}/api/queues`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    const body = (await bearer.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['audio', 'emoji', 'prerender']);
    const page = await fetch(`${part.urls.dashboard}`, {
      headers: { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` },
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const metrics = await (await fetch(`${part.urls.http}/metrics`)).text();
    expect(metrics).toMatch(/^resound_workers_admin_denied_total 2$/m);
  });

  it('serves queue depth per queue and state on /metrics', async () => {
    const text = await (await fetch(`${part.urls.http}/metrics`)).text();
    for (const q of ['emoji', 'prerender', 'audio'])
      expect(text).toMatch(new RegExp(`resound_workers_queue_jobs\\{queue="${q}",state="waiting"\\} 0`));
    expect(text).toMatch(/# TYPE resound_workers_job_wait_seconds histogram/);
    expect(text).toMatch(/# TYPE resound_workers_job_failures_total counter/);
  });

  it('accepts Bearer and Basic credentials only when they match exactly', () => {
    expect(authorized(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(authorized(`bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(authorized(`Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`, TOKEN)).toBe(true);
    expect(authorized(`Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}`, TOKEN)).toBe(false);
    expect(authorized(undefined, TOKEN)).toBe(false);
    expect(authorized('Digest x', TOKEN)).toBe(false);
  });
});
