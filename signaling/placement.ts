import type { Redis } from 'ioredis';

/**
 * Voice server placement across a fleet sharing one Redis: each voice server publishes its load under a key that
 * expires unless refreshed, and a join for a channel goes to the server already hosting it or, for a new channel,
 * to the least-loaded live server. Tokens are signed with the fleet's shared secret, so whichever server answers
 * the join can admit the user to the one it names.
 */
export interface ServerLoad {
  endpoint: string;
  sessions: number;
  channels: number;
  /** Unix ms of the last report. */
  at: number;
}

export interface PlacementOptions {
  redis: Redis;
  /** Key namespace, so several fleets (or test runs) can share one Redis. */
  prefix?: string;
  /** A server that has not reported for this long is considered gone. */
  ttlMs?: number;
}

export class VoicePlacement {
  private readonly prefix: string;
  private readonly ttlMs: number;

  constructor(private readonly opts: PlacementOptions) {
    this.prefix = opts.prefix ?? 'resound:voice';
    this.ttlMs = opts.ttlMs ?? 15_000;
  }

  private get redis(): Redis {
    return this.opts.redis;
  }

  /** Publishes this server's load (call every few seconds). */
  async report(load: Omit<ServerLoad, 'at'>): Promise<void> {
    const entry: ServerLoad = { ...load, at: Date.now() };
    await this.redis
      .multi()
      .set(`${this.prefix}:server:${load.endpoint}`, JSON.stringify(entry), 'PX', this.ttlMs)
      .zadd(`${this.prefix}:servers`, load.sessions, load.endpoint)
      .exec();
  }

  /** Keeps `(guild, channel)` pinned to `endpoint` while it is in use there. */
  async touchChannel(guildId: string, channelId: string, endpoint: string): Promise<void> {
    await this.redis.set(this.channelKey(guildId, channelId), endpoint, 'PX', this.ttlMs * 2);
  }

  async withdraw(endpoint: string): Promise<void> {
    await this.redis.multi().del(`${this.prefix}:server:${endpoint}`).zrem(`${this.prefix}:servers`, endpoint).exec();
  }

  /** Live servers, least loaded first. */
  async liveServers(): Promise<ServerLoad[]> {
    const endpoints = await this.redis.zrange(`${this.prefix}:servers`, '0', '-1');
    if (endpoints.length === 0) return [];
    const raw = await this.redis.mget(endpoints.map((e) => `${this.prefix}:server:${e}`));
    const live: ServerLoad[] = [];
    const dead: string[] = [];
    raw.forEach((r, i) => (r ? live.push(JSON.parse(r) as ServerLoad) : dead.push(endpoints[i])));
    if (dead.length) await this.redis.zrem(`${this.prefix}:servers`, ...dead);
    return live.sort(
      (a, b) => a.sessions - b.sessions || a.channels - b.channels || a.endpoint.localeCompare(b.endpoint),
    );
  }

  /**
   * The endpoint that should host `(guild, channel)`: the server already hosting it while that server is alive,
   * otherwise the least-loaded live server (claimed atomically so concurrent joins agree), or `fallback`.
   */
  async assign(guildId: string, channelId: string, fallback: string): Promise<string> {
    const key = this.channelKey(guildId, channelId);
    const live = await this.liveServers();
    const current = await this.redis.get(key);
    if (current && live.some((s) => s.endpoint === current)) return current;
    const choice = live[0]?.endpoint ?? fallback;
    if (current) {
      // The previous host is gone: replace it only if nobody else re-placed the channel meanwhile.
      await this.redis.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return nil",
        1,
        key,
        current,
        choice,
        String(this.ttlMs * 2),
      );
    } else {
      await this.redis.set(key, choice, 'PX', this.ttlMs * 2, 'NX');
    }
    return (await this.redis.get(key)) ?? choice;
  }

  private channelKey(guildId: string, channelId: string): string {
    return `${this.prefix}:channel:${guildId}:${channelId}`;
  }
}
