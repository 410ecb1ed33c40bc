/**
 * The data service in front of storage: identical concurrent reads coalesced into one backend query (counted at the
 * backend), reads after an acknowledged write never served from a query that predates it, and channel_id routing on a
 * consistent-hash ring over two real SQLite nodes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BUCKET_MS } from '../../gateway-lite/storage/buckets.ts';
import { DataService } from '../../gateway-lite/storage/data-service.ts';
import { openStorage, registerStorageMetrics } from '../../gateway-lite/storage/index.ts';
import { Registry } from '../../common/metrics.ts';
import { ReadStates } from '../../gateway-lite/read-states/index.ts';
import { SqliteStorage } from '../../gateway-lite/storage/sqlite.ts';
import { dropBackend, messageAt, sqliteConfig } from './storage-helpers.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function singleNode(): Promise<{ service: DataService; backend: SqliteStorage }> {
  const config = sqliteConfig('svc');
  const backend = await SqliteStorage.open(config);
  const service = new DataService([{ name: 'only', storage: backend }]);
  cleanup.push(async () => {
    await service.close();
    await dropBackend(config);
  });
  return { service, backend };
}

describe('data service', () => {
  it('answers 100 concurrent identical history reads with one backend query', async () => {
    const { service, backend } = await singleNode();
    for (let i = 0; i < 50; i++) await service.createMessage(messageAt('77', 420 * BUCKET_MS + i, i));
    const before = backend.counters.historyQueries;

    const pages = await Promise.all(Array.from({ length: 100 }, () => service.history('77', { limit: 50 })));
    expect(backend.counters.historyQueries - before).toBe(1);
    expect(service.coalescer.joined).toBeGreaterThanOrEqual(99);
    for (const p of pages) expect(p.map((m) => m.id)).toEqual(pages[0].map((m) => m.id));
    expect(pages[0]).toHaveLength(50);

    // Different queries are not merged.
    const distinct = await Promise.all([
      service.history('77', { limit: 10 }),
      service.history('77', { limit: 11 }),
      service.history('78', { limit: 10 }),
    ]);
    expect(distinct.map((p) => p.length)).toEqual([10, 11, 0]);
    expect(backend.counters.historyQueries - before).toBe(4);
    expect(service.coalescer.size).toBe(0);
  });

  it('never answers a read issued after an acknowledged write from a query that started before it', async () => {
    const { service, backend } = await singleNode();
    await service.createMessage(messageAt('88', 420 * BUCKET_MS, 1));
    const stale = service.history('88', { limit: 10 }); // in flight, started before the write below
    const write = messageAt('88', 420 * BUCKET_MS + 1, 2);
    await service.createMessage(write);
    const fresh = await service.history('88', { limit: 10 });
    expect(fresh.map((m) => m.id)).toContain(write.id);
    expect((await stale).length).toBeGreaterThanOrEqual(1);
    expect(backend.counters.historyQueries).toBe(2);

    // Entity reads coalesce and are invalidated by entity writes the same way.
    const user = { id: '5', username: 'bot', globalName: null, avatar: null, bot: true, tokenHash: 'abc' };
    await service.upsertUser(user);
    const reads = await Promise.all(Array.from({ length: 20 }, () => service.getUserByTokenHash('abc')));
    expect(reads.every((u) => u?.id === '5')).toBe(true);
    const inflight = service.getUser('5');
    await service.upsertUser({ ...user, username: 'renamed' });
    expect((await service.getUser('5'))?.username).toBe('renamed');
    await inflight;
  });

  it('routes each channel to one node of the hash ring (two SQLite nodes)', async () => {
    const a = sqliteConfig('ring-a');
    const b = sqliteConfig('ring-b');
    const service = await openStorage({ kind: 'cluster', nodes: [a, b] });
    cleanup.push(async () => {
      await service.close();
      await dropBackend(a);
      await dropBackend(b);
    });
    expect(service).toBeInstanceOf(DataService);
    const ds = service as DataService;
    const channels = Array.from({ length: 200 }, (_, i) => String(100_000 + i));
    for (const ch of channels)
      for (let i = 0; i < 3; i++) await ds.createMessage(messageAt(ch, 420 * BUCKET_MS + i, i));

    const [nodeA, nodeB] = ds.nodes.map((n) => n.storage as SqliteStorage);
    const onA = channels.filter((ch) => ds.nodeFor(ch) === nodeA);
    const onB = channels.filter((ch) => ds.nodeFor(ch) === nodeB);
    expect(onA.length + onB.length).toBe(200);
    // Both nodes carry a real share (the ring is seeded by node names, so this split is deterministic).
    expect(Math.min(onA.length, onB.length)).toBeGreaterThan(50);
    expect(await nodeA.messageCount()).toBe(onA.length * 3);
    expect(await nodeB.messageCount()).toBe(onB.length * 3);
    for (const ch of onA.slice(0, 5)) {
      expect(await nodeA.history(ch, { limit: 10 })).toHaveLength(3);
      expect(await nodeB.history(ch, { limit: 10 })).toHaveLength(0);
    }
    for (const ch of channels) expect(await ds.history(ch, { limit: 10 })).toHaveLength(3);

    // Entities and read states live on the first node.
    await ds.upsertGuild({ id: '9', name: 'g', ownerId: '1', icon: null });
    expect(await nodeA.getGuild('9')).not.toBeNull();
    expect(await nodeB.getGuild('9')).toBeNull();
  });
});

describe('storage metrics', () => {
  it('publishes coalesced vs queried reads, partition reads and read-state figures at scrape time', async () => {
    const { service } = await singleNode();
    const registry = new Registry();
    const readStates = new ReadStates({ store: service, flushIntervalMs: 3_600_000 });
    cleanup.unshift(() => readStates.close());
    await readStates.ack('1', '99', '5');
    registerStorageMetrics(registry, service, readStates);
    await service.createMessage(messageAt('99', 420 * BUCKET_MS, 1));
    await Promise.all(Array.from({ length: 10 }, () => service.history('99', { limit: 5 })));
    const text = await registry.metrics();
    // Two queries: the read state's load from storage, and the one history query the ten reads shared.
    expect(text).toContain('resound_gl_storage_reads_total{outcome="queried"} 2');
    expect(text).toContain('resound_gl_storage_reads_total{outcome="coalesced"} 9');
    expect(text).toContain('resound_gl_storage_partition_reads_total 1');
    expect(text).toContain('resound_gl_storage_bucket_index_reads_total 1');
    expect(text).toContain('resound_gl_read_states{what="dirty"} 1');
    expect(text).toContain('resound_gl_read_states{what="entries"} 1');
  });
});
