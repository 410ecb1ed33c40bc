import type { Redis } from 'ioredis';
import type { PresenceLookup } from './types.ts';

/**
 * Who is online, across gateway nodes: each node keeps a Redis hash `<prefix>gw:online:<node>` of user id → live
 * session count on that node, and a lookup asks every live node's hash (one HMGET each, pipelined). A node that dies
 * takes its hash with it (key TTL, renewed by `touch`), so its users read as offline and get pushes again.
 */
export class RedisPresence implements PresenceLookup {
  private readonly local = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly nodeId: string,
    /** Ids of the live gateway nodes (GatewayNodes.nodes). */
    private readonly liveNodes: () => string[],
    private readonly ttlMs: number,
  ) {}

  private key(node: string): string {
    return `${this.prefix}gw:online:${node}`;
  }

  /** A session of `userId` became live on this node. */
  async add(userId: string): Promise<void> {
    this.local.set(userId, (this.local.get(userId) ?? 0) + 1);
    await this.redis
      .multi()
      .hincrby(this.key(this.nodeId), userId, 1)
      .pexpire(this.key(this.nodeId), this.ttlMs)
      .exec();
  }

  /** A live session of `userId` on this node ended (or moved away). */
  async remove(userId: string): Promise<void> {
    const n = (this.local.get(userId) ?? 0) - 1;
    if (n > 0) this.local.set(userId, n);
    else this.local.delete(userId);
    if (n > 0) await this.redis.hincrby(this.key(this.nodeId), userId, -1);
    else await this.redis.hdel(this.key(this.nodeId), userId);
  }

  /** Keeps this node's hash alive (call from the node heartbeat). */
  async touch(): Promise<void> {
    await this.redis.pexpire(this.key(this.nodeId), this.ttlMs);
  }

  async offline(userIds: string[]): Promise<string[]> {
    const candidates = userIds.filter((u) => !this.local.has(u));
    if (candidates.length === 0) return [];
    const others = this.liveNodes().filter((n) => n !== this.nodeId);
    if (others.length === 0) return candidates;
    const pipe = this.redis.pipeline();
    for (const n of others) pipe.hmget(this.key(n), ...candidates);
    const results = (await pipe.exec()) ?? [];
    const online = new Set<string>();
    for (const [err, counts] of results) {
      if (err) throw err;
      (counts as (string | null)[]).forEach((c, i) => {
        if (c !== null && Number(c) > 0) online.add(candidates[i]);
      });
    }
    return candidates.filter((u) => !online.has(u));
  }

  async close(): Promise<void> {
    this.local.clear();
    await this.redis.del(this.key(this.nodeId));
  }
}
