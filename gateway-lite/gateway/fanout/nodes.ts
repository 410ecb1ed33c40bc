import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

/** A gateway node as the others (and the gateway front) see it. */
export interface GatewayNodeInfo {
  id: string;
  /** ws:// URL of its /gateway endpoint (no query). */
  url: string;
  /** Draining: takes no new connections; its sessions are moving away. */
  draining: boolean;
}

export interface GatewayNodesOptions {
  redis: Redis;
  prefix: string;
  self: GatewayNodeInfo;
  ttlMs: number;
}

// Leases in a sorted set scored by expiry on Redis' clock (as guilds/node-membership.ts); info in a hash beside it.
const BEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(gone))
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 10)
return redis.call('HGETALL', KEYS[2])
`;

type NodesRedis = Redis & {
  resoundGwNodesBeat(leases: string, info: string, id: string, ttlMs: number, self: string): Promise<string[]>;
};

/**
 * The live gateway nodes, renewed every ttl/3. Read-only observers (the gateway front) pass `self: null`-like info
 * with an empty id and only read.
 */
export class GatewayNodes extends EventEmitter<{ change: [nodes: GatewayNodeInfo[]]; error: [err: Error] }> {
  private readonly redis: NodesRedis;
  private timer: NodeJS.Timeout | undefined;
  private live: GatewayNodeInfo[] = [];
  private closed = false;

  constructor(private readonly opts: GatewayNodesOptions) {
    super();
    const r = opts.redis as NodesRedis;
    if (typeof r.resoundGwNodesBeat !== 'function')
      r.defineCommand('resoundGwNodesBeat', { numberOfKeys: 2, lua: BEAT });
    this.redis = r;
  }

  get nodes(): GatewayNodeInfo[] {
    return this.live;
  }

  async start(): Promise<GatewayNodeInfo[]> {
    await this.beat();
    const every = Math.max(50, Math.floor(this.opts.ttlMs / 3));
    this.timer = setInterval(() => void this.beat().catch((err: Error) => this.emit('error', err)), every);
    this.timer.unref();
    return this.live;
  }

  /** Announces this node as draining at once (the front stops sending it new connections). */
  async setDraining(draining: boolean): Promise<void> {
    this.opts.self.draining = draining;
    await this.beat();
  }

  /** Re-reads the live set now. */
  async refresh(): Promise<GatewayNodeInfo[]> {
    await this.beat();
    return this.live;
  }

  async close(withdraw = true): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (withdraw && this.opts.self.id) {
      await this.redis
        .multi()
        .zrem(this.key('leases'), this.opts.self.id)
        .hdel(this.key('info'), this.opts.self.id)
        .exec()
        .catch(() => {});
    }
  }

  private key(k: string): string {
    return `${this.opts.prefix}gw:nodes:${k}`;
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    const { self, ttlMs } = this.opts;
    const flat = await this.redis.resoundGwNodesBeat(
      this.key('leases'),
      this.key('info'),
      self.id,
      ttlMs,
      JSON.stringify({ url: self.url, draining: self.draining }),
    );
    const nodes: GatewayNodeInfo[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      try {
        const v = JSON.parse(flat[i + 1]) as { url?: unknown; draining?: unknown };
        if (typeof v.url === 'string') nodes.push({ id: flat[i], url: v.url, draining: v.draining === true });
      } catch {
        // A foreign value in our hash: ignore the entry, the node renews its own shortly.
      }
    }
    nodes.sort((a, b) => (a.id < b.id ? -1 : 1));
    const changed = JSON.stringify(nodes) !== JSON.stringify(this.live);
    this.live = nodes;
    if (changed) this.emit('change', nodes);
  }
}
