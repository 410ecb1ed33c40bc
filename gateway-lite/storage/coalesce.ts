/**
 * Request coalescing (Discord's data services): the first read for a key runs the query, identical reads that arrive
 * while it is in flight await the same promise, so N concurrent identical reads cost one query.
 *
 * Read-your-writes: a write that completes on a scope (a channel, or the entity store) detaches that scope's in-flight
 * reads before the writer is answered, so a read issued after an acknowledged write never joins a query that may
 * have started before it.
 */
interface InFlight {
  promise: Promise<unknown>;
  scope: string;
}

export class Coalescer {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly byScope = new Map<string, Set<string>>();
  /** Reads that ran a query / reads answered by joining one. */
  executed = 0;
  joined = 0;

  /** Run `fn` for `key` unless an identical read is in flight, in which case share its result. */
  run<T>(scope: string, key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inFlight.get(key);
    if (existing) {
      this.joined++;
      return existing.promise as Promise<T>;
    }
    this.executed++;
    const promise = fn().finally(() => {
      if (this.inFlight.get(key)?.promise === promise) this.forget(key, scope);
    });
    this.inFlight.set(key, { promise, scope });
    let keys = this.byScope.get(scope);
    if (!keys) this.byScope.set(scope, (keys = new Set()));
    keys.add(key);
    return promise;
  }

  /** A write on `scope` was acknowledged: later reads of it must query afresh. */
  invalidate(scope: string): void {
    const keys = this.byScope.get(scope);
    if (!keys) return;
    for (const key of keys) this.inFlight.delete(key);
    this.byScope.delete(scope);
  }

  /** Reads currently in flight (tests, metrics). */
  get size(): number {
    return this.inFlight.size;
  }

  private forget(key: string, scope: string): void {
    this.inFlight.delete(key);
    const keys = this.byScope.get(scope);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byScope.delete(scope);
  }
}
