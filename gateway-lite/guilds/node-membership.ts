import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

/**
 * Which guild-state nodes are alive, kept in Redis: a sorted set scored by each node's lease expiry (Redis' own
 * clock, so nodes with skewed clocks still agree). A node renews its lease every ttl/3 and, in the same script, drops
 * expired leases and reads the live set; a node that dies simply stops renewing and is gone within `ttlMs`.
 */
export interface NodeMembershipOptions {
  redis: Redis;
  /** Key namespace shared by the nodes of one deployment. */
  prefix: string;
  nodeId: string;
  ttlMs: number;
}

interface MembershipEvents {
  /** The live node list changed (sorted ids). */
  change: [nodes: string[]];
  error: [err: Error];
}

const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] ~= '' then redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

type MembershipRedis = Redis & {
  resoundGlHeartbeat(key: string, nodeId: string, ttlMs: number): Promise<string[]>;
};

export class NodeMembership extends EventEmitter<MembershipEvents> {
  private readonly redis: MembershipRedis;
  private timer: NodeJS.Timeout | undefined;
  private live: string[] = [];
  private closed = false;

  constructor(private readonly opts: NodeMembershipOptions) {
    super();
    const r = opts.redis as MembershipRedis;
    if (typeof r.resoundGlHeartbeat !== 'function')
      r.defineCommand('resoundGlHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
    this.redis = r;
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  /** Live nodes as of the last heartbeat (sorted). */
  get nodes(): string[] {
    return this.live;
  }

  /** Joins the ring and keeps renewing; resolves once the first live set is known. */
  async start(): Promise<string[]> {
    await this.beat();
    const every = Math.max(50, Math.floor(this.opts.ttlMs / 3));
    this.timer = setInterval(() => void this.beat().catch((err: Error) => this.emit('error', err)), every);
    this.timer.unref();
    return this.live;
  }

  /** Leaves: stops renewing and, when `withdraw`, removes the lease at once so others rebalance without waiting. */
  async close(withdraw = true): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (withdraw) await this.redis.zrem(this.key, this.opts.nodeId).catch(() => {});
  }

  private get key(): string {
    return `${this.opts.prefix}nodes`;
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    const nodes = await this.redis.resoundGlHeartbeat(this.key, this.opts.nodeId, this.opts.ttlMs);
    if (this.closed) return;
    const sorted = [...nodes].sort();
    if (sorted.join(',') !== this.live.join(',')) {
      this.live = sorted;
      this.emit('change', sorted);
    }
  }
}
