/**
 * Without a usable mediasoup worker the engine answers "unavailable" with a reason a person can act on (it names
 * `npm run setup:webrtc`), never throws from start(), and refuses channels with that reason. Runs everywhere: it
 * points the engine at binaries that are missing or broken on purpose.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { resetWorkerBinCache, resolveWorkerBin, WebRtcEngine, type Router } from '../../sfu/index.ts';

const saved = { bin: process.env.MEDIASOUP_WORKER_BIN, cache: process.env.XDG_CACHE_HOME };
const log = pino({ level: 'silent' });

afterEach(() => {
  for (const [k, v] of [
    ['MEDIASOUP_WORKER_BIN', saved.bin],
    ['XDG_CACHE_HOME', saved.cache],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetWorkerBinCache();
});

describe('WebRTC engine without a worker binary', () => {
  it('names the setup command when nothing was built on this machine', async () => {
    delete process.env.MEDIASOUP_WORKER_BIN;
    const empty = mkdtempSync(join(tmpdir(), 'resound-nocache-'));
    process.env.XDG_CACHE_HOME = empty;
    resetWorkerBinCache();
    const engine = new WebRtcEngine({ listenIp: '127.0.0.1', workers: 1 }, log);
    const status = await engine.start();
    rmSync(empty, { recursive: true, force: true });
    expect(status.available).toBe(false);
    expect(status.available ? '' : status.reason).toMatch(/no mediasoup [\d.]+ worker built.*npm run setup:webrtc/);
    await expect(engine.channel('g:c', {} as Router)).rejects.toThrow(/browser voice unavailable: no mediasoup/);
  });

  it('says which MEDIASOUP_WORKER_BIN is missing', async () => {
    process.env.MEDIASOUP_WORKER_BIN = '/nonexistent/mediasoup-worker';
    resetWorkerBinCache();
    const r = await resolveWorkerBin();
    expect(r).toEqual({ ok: false, reason: 'MEDIASOUP_WORKER_BIN=/nonexistent/mediasoup-worker does not exist' });
  });

  it('rejects a binary that fails the exit-41 self-check, and leaves the engine unavailable', async () => {
    process.env.MEDIASOUP_WORKER_BIN = '/bin/false';
    resetWorkerBinCache();
    const engine = new WebRtcEngine({ listenIp: '127.0.0.1', workers: 1 }, log);
    const status = await engine.start();
    expect(status.available).toBe(false);
    expect(status.available ? '' : status.reason).toMatch(/\/bin\/false fails its self-check \(exit 1\).*setup:webrtc/);
    expect(engine.workers).toBeNull();
    await engine.close();
  });
});
