/**
 * The shared message-storage suite, run against the real SQLite file backend and the real PostgreSQL server:
 * CRUD, bucket edges, empty-bucket skipping (counted reads), and 10,000-message histories paged both ways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../common/rng.ts';
import { BUCKET_MS, bucketOf, snowflakeAt } from '../../gateway-lite/storage/buckets.ts';
import type { BackendConfig, StoredMessage } from '../../gateway-lite/storage/types.ts';
import { type Backend, dropBackend, messageAt, openFresh } from './storage-helpers.ts';

const ids = (page: StoredMessage[]): string[] => page.map((m) => m.id);
const desc = (a: string, b: string): number => (BigInt(b) > BigInt(a) ? 1 : BigInt(b) < BigInt(a) ? -1 : 0);

describe.each(['sqlite', 'postgres'] as const)('message storage on %s', (kind) => {
  let storage: Backend;
  let config: BackendConfig;

  beforeAll(async () => {
    ({ storage, config } = await openFresh(kind, 'suite'));
  });
  afterAll(async () => {
    await storage?.close();
    if (config) await dropBackend(config);
  });

  it('creates, reads, edits and deletes a message; create is idempotent by id', async () => {
    const m = messageAt('1001', 400 * BUCKET_MS + 5, 1, 'hello');
    const created = await storage.createMessage({ ...m, guildId: '7', mentionUserIds: ['9'] });
    expect(created).toMatchObject({ content: 'hello', guildId: '7', type: 0, editedAt: null, mentionUserIds: ['9'] });
    await storage.createMessage({ ...m, content: 'hello again' });
    expect(await storage.history('1001', { limit: 10 })).toHaveLength(1);
    expect((await storage.getMessage('1001', m.id))?.content).toBe('hello again');

    const edited = await storage.editMessage('1001', m.id, { content: 'edited', editedAt: 123 });
    expect(edited).toMatchObject({ content: 'edited', editedAt: 123 });
    expect(await storage.getMessage('1001', m.id)).toEqual(edited);
    expect(await storage.editMessage('1001', '999', { content: 'x' })).toBeNull();
    expect(await storage.getMessage('1002', m.id)).toBeNull();

    expect(await storage.deleteMessage('1001', m.id)).toBe(true);
    expect(await storage.deleteMessage('1001', m.id)).toBe(false);
    expect(await storage.getMessage('1001', m.id)).toBeNull();
    expect(await storage.history('1001', { limit: 10 })).toEqual([]);
  });

  it('puts a message exactly on a 10-day edge in the newer bucket and pages across the edge', async () => {
    const channel = '2001';
    const edge = 401 * BUCKET_MS;
    const lastOfOld = (snowflakeAt(edge) - 1n).toString();
    const onEdge = snowflakeAt(edge).toString();
    const after = (snowflakeAt(edge) + 1n).toString();
    expect([bucketOf(lastOfOld), bucketOf(onEdge), bucketOf(after)]).toEqual([400, 401, 401]);
    for (const id of [lastOfOld, onEdge, after])
      await storage.createMessage({ id, channelId: channel, authorId: '1', content: id });

    expect(ids(await storage.history(channel, { limit: 50 }))).toEqual([after, onEdge, lastOfOld]);
    expect(ids(await storage.history(channel, { before: after, limit: 2 }))).toEqual([onEdge, lastOfOld]);
    expect(ids(await storage.history(channel, { before: onEdge, limit: 2 }))).toEqual([lastOfOld]);
    expect(ids(await storage.history(channel, { after: lastOfOld, limit: 1 }))).toEqual([onEdge]);
    expect(ids(await storage.history(channel, { after: lastOfOld, limit: 5 }))).toEqual([after, onEdge]);
    expect(ids(await storage.history(channel, { around: onEdge, limit: 3 }))).toEqual([after, onEdge, lastOfOld]);
    expect(await storage.buckets(BigInt(channel), 'older', undefined)).toEqual([401, 400]);

    // Deleting the only message of bucket 400 drops it from the index.
    await storage.deleteMessage(channel, lastOfOld);
    expect(await storage.buckets(BigInt(channel), 'older', undefined)).toEqual([401]);
  });

  it('skips empty buckets without reading them (counted partition reads)', async () => {
    const channel = '3001';
    // Bucket 100 and bucket 430 hold messages; the 329 buckets between are empty.
    for (let i = 0; i < 3; i++) await storage.createMessage(messageAt(channel, 100 * BUCKET_MS + i, i));
    for (let i = 0; i < 3; i++) await storage.createMessage(messageAt(channel, 430 * BUCKET_MS + i, i));

    const before = { ...storage.counters };
    const page = await storage.history(channel, { limit: 50 });
    expect(page).toHaveLength(6);
    expect(storage.counters.bucketReads - before.bucketReads).toBe(2);
    expect(storage.counters.bucketIndexReads - before.bucketIndexReads).toBe(1);

    const mid = { ...storage.counters };
    const newer = await storage.history(channel, { after: messageAt(channel, 100 * BUCKET_MS + 2, 2).id, limit: 50 });
    expect(newer).toHaveLength(3);
    // The cursor's own bucket (nothing newer left in it) and bucket 430: none of the 329 empty ones.
    expect(storage.counters.bucketReads - mid.bucketReads).toBe(2);

    // A page filled by the newest bucket never touches the older one.
    const last = { ...storage.counters };
    expect(await storage.history(channel, { limit: 2 })).toHaveLength(2);
    expect(storage.counters.bucketReads - last.bucketReads).toBe(1);
  });

  it('pages a 10,000-message history both ways with no gap or duplicate', async () => {
    const channel = '4001';
    const rng = createRng(0x5eed);
    // 60 buckets of time, a third of them empty; messages clustered like a real channel's bursts.
    const live = Array.from({ length: 60 }, (_, i) => 380 + i).filter(() => rng() > 0.33);
    const all = new Set<string>();
    while (all.size < 10_000) {
      const bucket = live[Math.floor(rng() * live.length)];
      const ms = bucket * BUCKET_MS + Math.floor(rng() * BUCKET_MS);
      all.add(messageAt(channel, ms, Math.floor(rng() * 4096)).id);
    }
    const list = [...all];
    // Writes go 16 at a time: PostgreSQL group-commits concurrent transactions; SQLite runs them one by one anyway.
    for (let i = 0; i < list.length; i += 16)
      await Promise.all(
        list
          .slice(i, i + 16)
          .map((id) => storage.createMessage({ id, channelId: channel, authorId: '5', content: id })),
      );
    const newestFirst = [...list].sort(desc);

    const backward: string[] = [];
    let cursor: string | undefined;
    while (true) {
      const page: StoredMessage[] = await storage.history(channel, { before: cursor, limit: 100 });
      if (page.length === 0) break;
      backward.push(...ids(page));
      cursor = page[page.length - 1].id;
    }
    expect(backward).toEqual(newestFirst);

    const forward: string[] = [];
    cursor = '0';
    while (true) {
      const page: StoredMessage[] = await storage.history(channel, { after: cursor, limit: 100 });
      if (page.length === 0) break;
      expect(ids(page)).toEqual([...ids(page)].sort(desc)); // each page newest first, as Discord returns it
      forward.push(...ids(page).reverse());
      cursor = page[0].id;
    }
    expect(forward).toEqual([...newestFirst].reverse());

    const pivot = newestFirst[5000];
    const around = ids(await storage.history(channel, { around: pivot, limit: 100 }));
    expect(around).toEqual(newestFirst.slice(4951, 5051));
    expect(around[49]).toBe(pivot);
  }, 120_000);

  it('rejects ambiguous history queries and ids that do not fit 64-bit signed columns', async () => {
    await expect(storage.history('1', { before: '5', after: '3', limit: 1 })).rejects.toThrow(RangeError);
    await expect(storage.history('1', { limit: 0 })).rejects.toThrow(RangeError);
    await expect(storage.getMessage('1', (1n << 63n).toString())).rejects.toThrow(RangeError);
  });
});
