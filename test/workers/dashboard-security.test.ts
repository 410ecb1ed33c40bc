import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkersServer, type WorkersServer } from '../../workers/server.ts';
import type { AudioJobData } from '../../workers/queues.ts';
import { quietLogger, REDIS_URL, tempDir, testConfig, uniquePrefix, useFleet, waitFor } from './helpers.ts';

const TOKEN = 'dashboard-token-0123456789';

describe('bull-board is read-only unless WORKERS_DASHBOARD_WRITABLE', () => {
  const prefix = uniquePrefix('sec-board');
  const ctx = useFleet(prefix, testConfig(prefix, { WORKERS_QUEUES: 'none' }));
  let readOnly: WorkersServer;
  let writable: WorkersServer;
  beforeAll(async () => {
    const common = { host: '127.0.0.1', port: 0, redisUrl: REDIS_URL, token: TOKEN, logger: quietLogger };
    readOnly = await startWorkersServer({ ...common, producers: ctx.producers });
    writable = await startWorkersServer({ ...common, producers: ctx.producers, dashboardWritable: true });
  });
  afterAll(async () => {
    await readOnly?.close();
    await writable?.close();
  });

  const pause = (s: WorkersServer) =>
    fetch(`${s.url}/admin/queues/api/queues/audio/pause`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}` },
    });

  it('refuses changes by default (405) and the queue is untouched; reading still works', async () => {
    const res = await pause(readOnly);
    expect(res.status).toBe(405);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('read_only');
    expect(await ctx.producers.queues.audio.isPaused()).toBe(false);
    const list = await fetch(`${readOnly.url}/admin/queues/api/queues`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(list.status).toBe(200);
    const body = (await list.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
    expect(body.queues.find((q) => q.name === 'audio')?.readOnlyMode).toBe(true);
  });

  it('the switch makes it writable', async () => {
    expect((await pause(writable)).status).toBe(200);
    expect(await ctx.producers.queues.audio.isPaused()).toBe(true);
    await ctx.producers.queues.audio.resume();
  });
});

describe('job data paths are confined to WORKERS_PATH_ROOTS', () => {
  const prefix = uniquePrefix('sec-paths');
  const root = tempDir('sec-root');
  const outside = tempDir('sec-outside');
  const ctx = useFleet(prefix, testConfig(prefix, { WORKERS_QUEUES: 'audio', WORKERS_PATH_ROOTS: root }), {
    attempts: 1,
  });

  const job = (source: string, outDir: string): AudioJobData => ({
    source,
    sha256: 'a'.repeat(64),
    outDir,
    input: { format: 'wav' },
    bitrate: 64000,
    maxSeconds: 60,
  });
  const failure = async (id: string) =>
    waitFor(`job ${id} to fail`, async () => (await ctx.producers.queues.audio.getJob(id))?.failedReason);

  it('a source or output outside the roots fails the job with path_not_allowed, writing nothing', async () => {
    fs.writeFileSync(path.join(outside, 'in.wav'), 'not really a wav');
    const id = await ctx.producers.addAudio(job(path.join(outside, 'in.wav'), path.join(root, 'out')));
    expect(await failure(id)).toMatch(/^path_not_allowed: source /);
    const id2 = await ctx.producers.addAudio(job(path.join(root, 'in.wav'), path.join(outside, 'out')));
    expect(await failure(id2)).toMatch(/^path_not_allowed: outDir /);
    expect(fs.existsSync(path.join(outside, 'out'))).toBe(false);
  });

  it('a symlink inside a root that points outside is refused too', async () => {
    fs.symlinkSync(outside, path.join(root, 'escape'));
    const id = await ctx.producers.addAudio(job(path.join(root, 'escape', 'in.wav'), path.join(root, 'out')));
    expect(await failure(id)).toMatch(/^path_not_allowed/);
  });

  it('paths inside the roots reach the processor (a missing source fails there instead)', async () => {
    const id = await ctx.producers.addAudio(job(path.join(root, 'missing.wav'), path.join(root, 'out2')));
    expect(await failure(id)).toMatch(/^source_missing/);
  });
});
