/**
 * One piece of work per key in flight: the second caller of `run(key)` while the first is running gets the first's
 * promise instead of starting its own transform.
 */
export class Coalescer<T> {
  private readonly inflight = new Map<string, Promise<T>>();
  /** How many calls joined an existing flight (for metrics and tests). */
  joined = 0;

  get size(): number {
    return this.inflight.size;
  }

  /** True while a flight for `key` is running (a call to `run` would join it). */
  has(key: string): boolean {
    return this.inflight.has(key);
  }

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inflight.get(key);
    if (existing) {
      this.joined++;
      return existing;
    }
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}
