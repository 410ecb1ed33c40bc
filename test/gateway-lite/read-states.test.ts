/**
 * Read states over real SQLite storage: the LRU writes evicted changes, a change reaches storage within the flush
 * interval (30 s by default, checked on a fake clock), a failed flush is retried, and a child process killed with
 * SIGKILL loses only changes made after its last completed flush.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReadStates } from '../../gateway-lite/read-states/index.ts';
import { SqliteStorage } from '../../gateway-lite/storage/sqlite.ts';
import { StorageUnavailableError, type ReadStateStore } from '../../gateway-lite/storage/types.ts';
import { dropBackend, sqliteConfig } from './storage-helpers.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function fresh(): Promise<{ storage: SqliteStorage; dataDir: string }> {
  const config = sqliteConfig('rs');
  const storage = await SqliteStorage.open(config);
  cleanup.push(async () => {
    await storage.close();
    await dropBackend(config);
  });
  return { storage, dataDir: config.dataDir };
}

describe('read states', () => {
  it('serves defaults, keeps changes in memory until a flush, then they are in storage', async () => {
    const { storage } = await fresh();
    const rs = new ReadStates({ store: storage, flushIntervalMs: 3_600_000 });
    cleanup.push(() => rs.close());
    expect(await rs.get('1', '10')).toEqual({ userId: '1', channelId: '10', lastMessageId: '0', mentionCount: 0 });
    await rs.addMentions('1', '10', 2);
    await rs.ack('1', '11', '500');
    expect(await rs.get('1', '10')).toMatchObject({ mentionCount: 2 });
    expect(await storage.listReadStates('1')).toEqual([]);
    expect(rs.stats.dirty).toBe(2);
    await rs.flush();
    expect(await storage.listReadStates('1')).toEqual([
      { userId: '1', channelId: '10', lastMessageId: '0', mentionCount: 2 },
      { userId: '1', channelId: '11', lastMessageId: '500', mentionCount: 0 },
    ]);
    expect(rs.stats.dirty).toBe(0);
  });

  it('writes changed entries when the byte budget evicts them, and reads them back after', async () => {
    const { storage } = await fresh();
    // Room for about 8 entries; nothing is flushed on the clock during the test.
    const rs = new ReadStates({ store: storage, budgetBytes: 8 * 200, flushIntervalMs: 3_600_000 });
    cleanup.push(() => rs.close());
    const written: number[] = [];
    rs.on('flushed', ({ reason, written: n }) => {
      if (reason === 'eviction') written.push(n);
    });
    for (let c = 0; c < 40; c++) await rs.ack('7', String(1000 + c), String(5000 + c), c % 3);
    expect(rs.stats.bytes).toBeLessThanOrEqual(8 * 200);
    expect(rs.stats.entries).toBeLessThan(40);
    await rs.flush(); // waits behind the queued eviction writes (writes are serialised)
    expect(written.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(40 - rs.stats.entries);
    const stored = await storage.listReadStates('7');
    expect(stored).toHaveLength(40);
    expect(stored[0]).toEqual({ userId: '7', channelId: '1000', lastMessageId: '5000', mentionCount: 0 });
    // An evicted entry is loaded back from storage with its last value.
    expect(await rs.get('7', '1001')).toEqual({
      userId: '7',
      channelId: '1001',
      lastMessageId: '5001',
      mentionCount: 1,
    });
  });

  it('writes a change 30 s after it was made (default interval), not before, and a later change does not delay it', async () => {
    const { storage } = await fresh();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const rs = new ReadStates({ store: storage });
    cleanup.push(() => rs.close());
    await rs.ack('3', '30', '300');
    await vi.advanceTimersByTimeAsync(10_000);
    await rs.ack('3', '31', '310');
    await vi.advanceTimersByTimeAsync(19_999);
    expect(await storage.listReadStates('3')).toEqual([]);
    const flushed = once(rs, 'flushed');
    await vi.advanceTimersByTimeAsync(1);
    expect(await flushed).toEqual([{ reason: 'interval', written: 2 }]);
    expect((await storage.listReadStates('3')).map((r) => r.lastMessageId)).toEqual(['300', '310']);
  });

  it('keeps changes dirty when storage is down and writes them once it is back', async () => {
    const { storage, dataDir } = await fresh();
    let current = storage;
    // Real storage behind a switch, so the test can take the node down and bring a new one up on the same file.
    const store: ReadStateStore = {
      getReadState: (u, c) => current.getReadState(u, c),
      listReadStates: (u) => current.listReadStates(u),
      upsertReadStates: (rows) => current.upsertReadStates(rows),
    };
    const rs = new ReadStates({ store, flushIntervalMs: 3_600_000 });
    await rs.ack('4', '40', '400');
    await storage.close();
    const failed = once(rs, 'flushFailed');
    await expect(rs.flush()).rejects.toBeInstanceOf(StorageUnavailableError);
    expect((await failed)[0]).toMatchObject({ reason: 'manual', pending: 1 });
    expect(rs.stats.dirty).toBe(1);

    current = await SqliteStorage.open({ kind: 'sqlite', dataDir });
    cleanup.push(() => current.close());
    await rs.close();
    expect(await current.getReadState('4', '40')).toMatchObject({ lastMessageId: '400' });
  });

  it('a SIGKILLed process loses only changes made after its last completed flush', async () => {
    const { storage, dataDir } = await fresh();
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        path.join(path.dirname(fileURLToPath(import.meta.url)), 'read-states-child.ts'),
        dataDir,
        '150',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanup.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    type Change = { seq: number; user: string; channel: string; msg: string };
    const changes: Change[] = [];
    let durableUpTo = 0;
    let flushes = 0;
    const lines = readline.createInterface({ input: child.stdout! });
    const exited = once(child, 'exit');
    await new Promise<void>((resolve) => {
      lines.on('line', (line) => {
        const ev = JSON.parse(line) as Partial<Change> & { durableUpTo?: number };
        if (ev.durableUpTo !== undefined) {
          durableUpTo = ev.durableUpTo;
          flushes++;
        } else if (ev.seq !== undefined) changes.push(ev as Change);
        // Kill once three flushes completed and changes were made after the last one.
        if (flushes >= 3 && changes.length > 0 && changes[changes.length - 1].seq > durableUpTo + 5) resolve();
      });
    });
    child.kill('SIGKILL');
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');

    const stored = new Map<string, bigint>();
    for (const user of ['1', '2', '3', '4', '5'])
      for (const r of await storage.listReadStates(user))
        stored.set(`${r.userId}:${r.channelId}`, BigInt(r.lastMessageId));

    const latestBy = (limit: number): Map<string, Change> => {
      const m = new Map<string, Change>();
      for (const c of changes) if (c.seq <= limit) m.set(`${c.user}:${c.channel}`, c);
      return m;
    };
    // Everything covered by the last completed flush survived (ids grow with seq, so ≥ means "that change or later").
    const mustSurvive = latestBy(durableUpTo);
    expect(mustSurvive.size).toBeGreaterThan(0);
    for (const [key, c] of mustSurvive) expect(stored.get(key)! >= BigInt(c.msg)).toBe(true);
    // Whatever is missing was changed after that flush: the loss is bounded by the flush window.
    const final = latestBy(Number.MAX_SAFE_INTEGER);
    const lost = [...final].filter(([key, c]) => (stored.get(key) ?? 0n) < BigInt(c.msg));
    for (const [, c] of lost) expect(c.seq).toBeGreaterThan(durableUpTo);
    // Stored values are real changes, never torn rows.
    const msgs = new Set(changes.map((c) => c.msg));
    for (const v of stored.values()) expect(msgs.has(v.toString())).toBe(true);
  }, 60_000);
});
