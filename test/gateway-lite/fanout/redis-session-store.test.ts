import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../common/redis.ts';
import { RedisSessionStore, type SessionRecord } from '../../../gateway-lite/index.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `resound:test:gw-store:${randomBytes(4).toString('hex')}:`;
const redis = createRedis(REDIS_URL);
const other = createRedis(REDIS_URL); // a second node's connection

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  other.disconnect();
});

const record = (sessionId: string, over: Partial<SessionRecord> = {}): SessionRecord => ({
  sessionId,
  userId: '80351110224678912',
  tokenHash: 'h',
  intents: 513,
  shard: [0, 1],
  largeThreshold: 50,
  seq: 2,
  guildIds: ['1'],
  presence: null,
  replay: [
    { s: 1, t: 'READY', d: '{}' },
    { s: 2, t: 'MESSAGE_CREATE', d: '{"id":"9"}', id: 'e1' },
  ],
  expiresAt: Date.now() + 60_000,
  nodeId: 'node-a',
  ...over,
});

describe('RedisSessionStore: detached sessions shared by gateway nodes', () => {
  it('save → append (bounded) → take on another node returns the whole record once', async () => {
    const a = new RedisSessionStore(redis, prefix);
    const b = new RedisSessionStore(other, prefix);
    await a.save(record('s1'));
    expect(await a.append('s1', { s: 3, t: 'MESSAGE_CREATE', d: '{"id":"10"}', id: 'e2' }, 3)).toBe(true);
    expect(await a.append('s1', { s: 4, t: 'TYPING_START', d: '{}', id: 'e3' }, 3)).toBe(true);
    const got = await b.take('s1');
    expect(got).toEqual({
      ...record('s1', { expiresAt: got!.expiresAt }),
      seq: 4,
      replay: [
        { s: 2, t: 'MESSAGE_CREATE', d: '{"id":"9"}', id: 'e1' },
        { s: 3, t: 'MESSAGE_CREATE', d: '{"id":"10"}', id: 'e2' },
        { s: 4, t: 'TYPING_START', d: '{}', id: 'e3' },
      ],
    });
    // Taken: the old holder's next append is refused (it lets the session go), and nobody can take it again.
    expect(await a.append('s1', { s: 5, t: 'TYPING_START', d: '{}' }, 3)).toBe(false);
    expect(await a.take('s1')).toBeNull();
  });

  it('concurrent takes: exactly one wins', async () => {
    const a = new RedisSessionStore(redis, prefix);
    const b = new RedisSessionStore(other, prefix);
    await a.save(record('s2'));
    const results = await Promise.all([a.take('s2'), b.take('s2'), a.take('s2'), b.take('s2')]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });

  it('expired or deleted records are gone; a foreign value under the key reads as gone', async () => {
    const a = new RedisSessionStore(redis, prefix);
    await a.save(record('s3', { expiresAt: Date.now() + 150 }));
    await new Promise((r) => setTimeout(r, 300));
    expect(await a.take('s3')).toBeNull();
    await a.save(record('s4'));
    await a.delete('s4');
    expect(await a.append('s4', { s: 3, t: 'X', d: '{}' }, 10)).toBe(false);
    await redis.hset(`${prefix}gw:sess:s5`, 'rec', 'not json', 'seq', '1');
    expect(await a.take('s5')).toBeNull();
  });
});
