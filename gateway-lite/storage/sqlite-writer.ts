/**
 * Group commit for the single SQLite writer. Writes issued in the same event-loop turn run in one transaction (each in
 * its own savepoint, so one failing write does not undo the others) and are acknowledged only after that transaction
 * committed, i.e. after the one WAL fsync that synchronous=FULL performs per commit. Under load this turns N fsyncs
 * into one without weakening "acknowledged = durable".
 */
import type Database from 'better-sqlite3';

interface PendingWrite {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Writes per transaction: bounds how long one commit holds the write lock (and delays readers' acks). */
const MAX_BATCH = 2048;

export class GroupCommit {
  private queue: PendingWrite[] = [];
  private scheduled = false;
  /** Transactions committed / writes they carried (bench, tests). */
  commits = 0;
  writes = 0;

  constructor(
    private readonly db: Database.Database,
    /** Maps a driver error to StorageUnavailableError when it means the store is down. */
    private readonly classify: (err: unknown) => unknown,
  ) {}

  /** Run `fn` inside the next group transaction; resolves with its result once the transaction is durable. */
  commit<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commit whatever is queued now (close() calls this so queued writes are not failed by the closing handle). */
  drain(): void {
    while (this.queue.length > 0) this.flush();
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    const results: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
    try {
      this.db.transaction(() => {
        for (const w of batch) {
          try {
            results.push({ ok: true, value: this.db.transaction(w.fn)() });
          } catch (err) {
            results.push({ ok: false, err });
          }
        }
      })();
    } catch (err) {
      // The commit itself failed (disk, closed database): nothing in the batch is acknowledged.
      const mapped = this.classify(err);
      for (const w of batch) w.reject(mapped);
      return;
    }
    this.commits++;
    this.writes += batch.length;
    batch.forEach((w, i) => {
      const r = results[i];
      if (r.ok) w.resolve(r.value);
      else w.reject(this.classify(r.err));
    });
  }
}
