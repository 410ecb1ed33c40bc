import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadWorkersConfig, type WorkersConfig } from '../../workers/config.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const quietLogger = pino({ level: 'silent' });

/** A BullMQ prefix of its own per test, so parallel files never see each other's queues. */
export function uniquePrefix(tag: string): string {
  return `t-${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR ?? os.tmpdir(), `workers-${tag}-`));
}

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

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
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
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) s[i * channels + c] = 0.4 * Math.sin((2 * Math.PI * freqs[c % freqs.length] * i) / rate);
  return s;
}
