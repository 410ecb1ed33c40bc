/**
 * A token bucket per gateway session for op 4. @discordjs/voice answers most voice-gateway closes by sending op 4
 * again at once; against a voice server that keeps refusing, that is tens of op 4 a second. The bucket lets a normal
 * client join, move, leave and rejoin a few times, and stops a storm early with one clear close.
 */
export class Op4Limiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly refillMs: number,
  ) {}

  /** Takes one op 4 from the session's budget; false when it is spent. */
  take(sessionId: string, now = Date.now()): boolean {
    let b = this.buckets.get(sessionId);
    if (!b) {
      if (this.buckets.size >= 50_000) this.prune(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(sessionId, b);
    }
    const refill = Math.floor((now - b.at) / this.refillMs);
    if (refill > 0) {
      b.tokens = Math.min(this.burst, b.tokens + refill);
      b.at = b.tokens === this.burst ? now : b.at + refill * this.refillMs;
    }
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  /** A session ended: forget its bucket. */
  forget(sessionId: string): void {
    this.buckets.delete(sessionId);
  }

  /** Drops buckets that would be full again (nothing to remember). */
  private prune(now: number): void {
    for (const [id, b] of this.buckets)
      if (b.tokens + Math.floor((now - b.at) / this.refillMs) >= this.burst) this.buckets.delete(id);
  }
}
