/** Clients tracked at once; past this the least recently seen is forgotten (it starts again with a full bucket). */
const MAX_CLIENTS = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client for renders that miss the result cache: each miss takes a token, `perMinute` tokens come
 * back per minute up to `burst`. Cache hits never reach it, so a client can re-read what it has rendered freely; only
 * asking for new variants is limited. `perMinute` 0 turns it off.
 */
export class MissLimiter {
  private readonly buckets = new Map<string, Bucket>();
  constructor(
    readonly perMinute: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `client`: 0 when granted, else the whole seconds until the next token. */
  take(client: string): number {
    if (this.perMinute <= 0) return 0;
    const now = this.now();
    const perMs = this.perMinute / 60_000;
    const b = this.buckets.get(client) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    // Re-insert so Map order is least recently seen first, which is what overflow evicts.
    this.buckets.delete(client);
    this.buckets.set(client, b);
    if (this.buckets.size > MAX_CLIENTS) this.buckets.delete(this.buckets.keys().next().value as string);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
  }
}
