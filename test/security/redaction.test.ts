import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { ensureRedis } from '../../common/redis.ts';

const run = promisify(execFile);

/** A real pino logger with Resound's options, writing into an array of parsed JSON lines. */
function captured(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: createLogger('info', sink), text: () => chunks.join('') };
}

describe('secrets never reach the logs', () => {
  it('masks URL passwords, auth headers and secret-named fields, in objects, errors and messages', () => {
    const { logger, text } = captured();
    logger.warn(
      {
        requested: 'redis://:hunter2hunter2@10.0.0.7:6379/0',
        headers: { authorization: 'Bearer sekrit-admin-token-value' },
        token: 'join.token.value',
        nested: { db: 'postgres://app:pgpass123@db:5432/x' },
        err: new Error('connect failed for redis://u:errpass99@h:1'),
      },
      'retrying redis://:inmessage77@10.0.0.7:6379 with Bearer another-token-value',
    );
    const out = text();
    for (const secret of [
      'hunter2hunter2',
      'sekrit-admin-token-value',
      'join.token.value',
      'pgpass123',
      'errpass99',
      'inmessage77',
      'another-token-value',
    ])
      expect(out).not.toContain(secret);
    expect(out).toContain('redis://:***@10.0.0.7:6379/0');
    expect(out).toContain('postgres://app:***@db:5432/x');
    const line = JSON.parse(out) as { headers: { authorization: string }; token: string };
    expect(line.headers.authorization).toBe('[redacted]');
    expect(line.token).toBe('[redacted]');
  });

  it('a Redis URL with a password is logged without it while it is waited for, and in the final error', async () => {
    const { logger, text } = captured();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-redact-'));
    try {
      // Port 1 never answers: an explicit REDIS_URL is waited for (never substituted), then given up on.
      const err = await ensureRedis('redis://:redispass4242@127.0.0.1:1', dataDir, logger, { waitMs: 300 }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toContain('redis://:***@127.0.0.1:1');
      expect(err?.message).not.toContain('redispass4242');
      expect(text()).toContain('waiting for Redis at REDIS_URL=redis://:***@127.0.0.1:1');
      expect(text()).not.toContain('redispass4242');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a rejected ADMIN_TOKEN stops start-up without echoing its value', async () => {
    const err = await run(process.execPath, ['--import', 'tsx', 'bin/resound.ts', 'start', 'voice'], {
      env: { ...process.env, ADMIN_TOKEN: 'hunter2-short', SIGNALING_WSS_PORT: '0', SFU_UDP_PORT: '0' },
    }).then(
      () => null,
      (e: { code: number; stderr: string; stdout: string }) => e,
    );
    expect(err?.code).toBe(78);
    expect(err?.stderr).toContain('ADMIN_TOKEN=(13 characters, hidden)');
    expect(`${err?.stderr}${err?.stdout}`).not.toContain('hunter2-short');
  });
});
