/** Client payloads larger than this (bytes) are a decode error: close 4002. */
export const MAX_CLIENT_PAYLOAD = 4096;

/** Hard cap handed to `ws` so a hostile frame is refused before it is buffered whole (it closes with 1009). */
export const WS_MAX_PAYLOAD = 64 * 1024;

/**
 * Discord's per-connection command budget: `limit` commands per `windowMs` (120 / 60 s), counted in a window that
 * starts with the first command; one more closes the connection with 4008.
 */
export class CommandBudget {
  private windowStart = 0;
  private used = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Spends one command; false once the budget for the current window is gone. */
  take(now = Date.now()): boolean {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    this.used++;
    return this.used <= this.limit;
  }
}

/**
 * Identify concurrency: per bot, `maxConcurrency` buckets (`shard_id % max_concurrency`), each admitting one
 * Identify per `windowMs` (5 s). This node's view only: a bot whose shards identify on several nodes gets each
 * node's allowance (documented in the README).
 */
export class IdentifyThrottle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly maxConcurrency: number,
    private readonly windowMs: number,
  ) {}

  /** Admits an Identify for (bot, shard) or says no (the gateway answers op 9 `d:false`). */
  admit(botId: string, shardId: number, now = Date.now()): boolean {
    const key = `${botId}:${shardId % this.maxConcurrency}`;
    const at = this.last.get(key);
    if (at !== undefined && now - at < this.windowMs) return false;
    this.last.set(key, now);
    if (this.last.size > 100_000) this.prune(now);
    return true;
  }

  private prune(now: number): void {
    for (const [k, at] of this.last) if (now - at >= this.windowMs) this.last.delete(k);
  }
}

/** Shard of a guild: Discord's `(guild_id >> 22) % num_shards`; events without a guild go to shard 0. */
export function shardOf(guildId: string | null, numShards: number): number {
  if (guildId === null || numShards <= 1) return 0;
  return Number((BigInt(guildId) >> 22n) % BigInt(numShards));
}
