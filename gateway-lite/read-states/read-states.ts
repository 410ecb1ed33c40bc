/**
 * Read states (Discord's Go→Rust service): per (user, channel) `last_message_id` + `mention_count`, held in an LRU
 * bounded by an estimated byte budget and written to storage on eviction and at most `flushIntervalMs` (30 s by
 * default) after a change. Writes are batched (one upsertReadStates per flush) and serialised, so storage always sees
 * a key's changes in order.
 *
 * Crash window: a change is durable once the flush that carries it resolves; a kill -9 loses only the changes made
 * since the last completed flush, i.e. at most flushIntervalMs plus that flush's own write time.
 */
import { EventEmitter } from 'node:events';
import { RateLimitedLog, type Logger } from '../../common/logger.ts';
import type { ReadState, ReadStateStore, Snowflake } from '../storage/types.ts';

export interface ReadStatesOptions {
  store: ReadStateStore;
  /** Estimated bytes the cache may hold before evicting least-recently-used entries; default 64 MiB. */
  budgetBytes?: number;
  /** Longest time a change stays only in memory; default 30,000 ms. */
  flushIntervalMs?: number;
  logger?: Logger;
}

export type FlushReason = 'interval' | 'eviction' | 'close' | 'manual';

export interface ReadStatesEvents {
  /** flush() chose its batch: every change made before this event is in it or in an earlier, still queued write. */
  flushing: [{ reason: FlushReason; rows: number }];
  /** A batch reached storage durably (`written` rows). */
  flushed: [{ reason: FlushReason; written: number }];
  /** A batch could not be written; its rows stay dirty and are retried at the next interval. */
  flushFailed: [{ reason: FlushReason; error: Error; pending: number }];
}

interface Entry {
  userId: Snowflake;
  channelId: Snowflake;
  lastMessageId: Snowflake;
  mentionCount: number;
  dirty: boolean;
  bytes: number;
}

/**
 * Per-entry cost estimate: V8 object (~9 fields), Map slot, key string and the three id strings (2 bytes/char worst
 * case). It does not need to be exact, only proportional, so the budget bounds memory rather than entry count.
 */
function entryBytes(userId: string, channelId: string, lastMessageId: string): number {
  return 160 + 2 * (2 * userId.length + 2 * channelId.length + lastMessageId.length + 1);
}

const keyOf = (userId: Snowflake, channelId: Snowflake): string => `${userId}:${channelId}`;

export class ReadStates extends EventEmitter<ReadStatesEvents> {
  private readonly store: ReadStateStore;
  private readonly budget: number;
  private readonly interval: number;
  private readonly log: RateLimitedLog | undefined;
  /** Map iteration order is insertion order: re-inserting on use keeps the least recently used first. */
  private readonly lru = new Map<string, Entry>();
  /** Dirty entries evicted from the LRU and not yet confirmed written; still authoritative for reads. */
  private readonly evicted = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private writes: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(opts: ReadStatesOptions) {
    super();
    this.store = opts.store;
    this.budget = opts.budgetBytes ?? 64 * 1024 * 1024;
    this.interval = opts.flushIntervalMs ?? 30_000;
    this.log = opts.logger ? new RateLimitedLog(opts.logger) : undefined;
  }

  /** The read state (from memory, else storage); a never-read channel is lastMessageId '0', mentionCount 0. */
  async get(userId: Snowflake, channelId: Snowflake): Promise<ReadState> {
    const e = await this.entry(userId, channelId);
    return { userId, channelId, lastMessageId: e.lastMessageId, mentionCount: e.mentionCount };
  }

  /** The user read the channel up to `messageId`; mentions reset to `mentionCount` (0 unless the client says). */
  async ack(userId: Snowflake, channelId: Snowflake, messageId: Snowflake, mentionCount = 0): Promise<void> {
    const e = await this.entry(userId, channelId);
    this.bytes += entryBytes(userId, channelId, messageId) - e.bytes;
    e.bytes = entryBytes(userId, channelId, messageId);
    e.lastMessageId = messageId;
    e.mentionCount = mentionCount;
    this.changed(e);
  }

  /** A message mentioning the user arrived in the channel. */
  async addMentions(userId: Snowflake, channelId: Snowflake, count = 1): Promise<void> {
    const e = await this.entry(userId, channelId);
    e.mentionCount += count;
    this.changed(e);
  }

  /** Write every pending change now; resolves when they are durable (rejects if storage refused them). */
  flush(reason: FlushReason = 'manual'): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch: Entry[] = [...this.evicted.values()];
    for (const e of this.lru.values()) if (e.dirty) batch.push(e);
    this.emit('flushing', { reason, rows: batch.length });
    return this.write(batch, reason);
  }

  /** Flush and stop; later calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush('close');
  }

  /** Entries in memory, their estimated bytes, and changes not yet written (tests, metrics). */
  get stats(): { entries: number; bytes: number; dirty: number } {
    let dirty = this.evicted.size;
    for (const e of this.lru.values()) if (e.dirty) dirty++;
    return { entries: this.lru.size, bytes: this.bytes, dirty };
  }

  private changed(e: Entry): void {
    e.dirty = true;
    this.schedule();
  }

  /** Arm the flush timer unless one is armed: a change is written at most one interval after it was made. */
  private schedule(): void {
    if (this.closed) return;
    this.timer ??= setTimeout(() => void this.flush('interval').catch(() => undefined), this.interval).unref();
  }

  private async entry(userId: Snowflake, channelId: Snowflake): Promise<Entry> {
    if (this.closed) throw new Error('read states are closed');
    const key = keyOf(userId, channelId);
    const hit = this.lookup(key);
    if (hit) return hit;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(userId, channelId).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    const loaded = await pending;
    // Synchronous from here: the first waiter inserts, later waiters (or a concurrent change) find it.
    const now = this.lookup(key);
    if (now) return now;
    this.insert(key, loaded);
    return loaded;
  }

  /** The cached entry, made most recent; a dirty evicted one is brought back (it stays dirty). */
  private lookup(key: string): Entry | undefined {
    let e = this.lru.get(key);
    if (e) {
      this.lru.delete(key);
      this.lru.set(key, e);
      return e;
    }
    e = this.evicted.get(key);
    if (e) {
      this.evicted.delete(key);
      e.dirty = true;
      this.insert(key, e);
    }
    return e;
  }

  private async load(userId: Snowflake, channelId: Snowflake): Promise<Entry> {
    const row = await this.store.getReadState(userId, channelId);
    const lastMessageId = row?.lastMessageId ?? '0';
    return {
      userId,
      channelId,
      lastMessageId,
      mentionCount: row?.mentionCount ?? 0,
      dirty: false,
      bytes: entryBytes(userId, channelId, lastMessageId),
    };
  }

  private insert(key: string, e: Entry): void {
    this.lru.set(key, e);
    this.bytes += e.bytes;
    const out: Entry[] = [];
    for (const [k, old] of this.lru) {
      if (this.bytes <= this.budget || old === e) break;
      this.lru.delete(k);
      this.bytes -= old.bytes;
      if (old.dirty) {
        this.evicted.set(k, old);
        out.push(old);
      }
    }
    if (out.length > 0) void this.write(out, 'eviction').catch(() => undefined);
  }

  /** Serialised batch write; on failure the rows are marked dirty again and the interval retries them. */
  private write(batch: Entry[], reason: FlushReason): Promise<void> {
    const run = async (): Promise<void> => {
      if (batch.length === 0) return;
      const rows: ReadState[] = batch.map((e) => ({
        userId: e.userId,
        channelId: e.channelId,
        lastMessageId: e.lastMessageId,
        mentionCount: e.mentionCount,
      }));
      for (const e of batch) e.dirty = false;
      try {
        await this.store.upsertReadStates(rows);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        for (const e of batch) if (this.lru.get(keyOf(e.userId, e.channelId)) === e) this.changed(e);
        if (this.evicted.size > 0) this.schedule();
        this.log?.warn('flush', { reason, pending: batch.length, err: error.message }, 'read-state flush failed');
        this.emit('flushFailed', { reason, error, pending: batch.length });
        throw error;
      }
      for (const e of batch) {
        const key = keyOf(e.userId, e.channelId);
        if (this.evicted.get(key) === e) this.evicted.delete(key);
      }
      this.emit('flushed', { reason, written: rows.length });
    };
    const next = this.writes.then(run);
    this.writes = next.catch(() => undefined);
    return next;
  }
}
