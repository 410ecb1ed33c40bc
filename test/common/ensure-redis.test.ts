/** Which Redis a process uses (common/redis.ts ensureRedis), against real redis-server processes on free ports. */
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ensureRedis, freePort, redisAnswers, RedisUnreachableError } from '../../common/redis.ts';

const log = pino({ level: 'silent' });
const dataDir = () => fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, 'ensure-redis-'));
const SHARED = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('ensureRedis', () => {
  it('uses an explicit URL that answers, as is', async () => {
    const h = await ensureRedis(SHARED, dataDir(), log);
    expect(h.url).toBe(SHARED);
    expect(h.child).toBeUndefined();
  });

  it('with REDIS_URL unset and nothing at the default, starts a private redis-server in the data folder', async () => {
    const dir = dataDir();
    const nothing = `redis://127.0.0.1:${await freePort()}`;
    const h = await ensureRedis(undefined, dir, log, { defaultUrl: nothing });
    try {
      expect(h.child).toBeDefined();
      expect(h.url).not.toBe(nothing);
      expect(await redisAnswers(h.url)).toBe(true);
      expect(fs.existsSync(path.join(dir, 'redis'))).toBe(true);
    } finally {
      await h.close();
    }
    expect(await redisAnswers(h.url, 300)).toBe(false);
  });

  it('never replaces an explicit URL that does not answer: it waits, says so once, and gives up only when told to', async () => {
    const dead = `redis://:secret@127.0.0.1:${await freePort()}`;
    const said: string[] = [];
    const err = await ensureRedis(dead, dataDir(), log, { waitMs: 600, onWaiting: (m) => said.push(m) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RedisUnreachableError);
    expect(said).toEqual([
      `waiting for Redis at REDIS_URL=${dead.replace('secret', '***')} (it does not answer); retrying`,
    ]);
    // An abort (a signal during start-up) ends the wait too.
    const stop = new AbortController();
    const waiting = ensureRedis(dead, dataDir(), log, { signal: stop.signal, onWaiting: () => stop.abort() }).catch(
      (e: unknown) => e,
    );
    expect(String(await waiting)).toMatch(/stopped while waiting for Redis/);
  });
});
