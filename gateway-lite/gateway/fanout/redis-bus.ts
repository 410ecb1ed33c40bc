import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../../../common/logger.ts';
import type { Registry } from '../../../common/metrics.ts';
import { createRedis, watchRedis, type Redis } from '../../../common/redis.ts';
import { stampEventId, type DispatchBus, type GatewayDispatch } from '../events.ts';
import { busMetrics } from './metrics.ts';
import { decodeWire, encodeWire } from './wire.ts';

export interface RedisDispatchBusOptions {
  redisUrl: string;
  /** Key/channel namespace shared by the nodes of one deployment (GATEWAY_LITE_REDIS_PREFIX). */
  prefix: string;
  nodeId: string;
  /**
   * Bus channels: a guild's events go to channel `(guild_id >> 22) % busShards` (null guild → 0). Independent of the
   * shard counts clients identify with (Discord allows mixed counts), so it is a deployment constant.
   */
  busShards: number;
  registry: Registry;
  logger: Logger;
}

/** The bus shard a guild's events travel on. */
export function busShardOf(guildId: string | null, busShards: number): number {
  if (guildId === null) return 0;
  return Number((BigInt(guildId) >> 22n) % BigInt(busShards));
}

/**
 * A `DispatchBus` across gateway nodes over Redis pub/sub, one channel per bus shard.
 *
 * Why per shard, not per guild: the bus contract has no per-guild interest, and a node with thousands of sessions
 * needs nearly every guild anyway, so per-guild channels would mean one SUBSCRIBE per guild per node plus the churn
 * of keeping them in step with sessions — `npm run bench -- gateway` measures the two layouts (figure `bus_*`).
 * Per-shard channels still spread over a Redis Cluster's slots.
 *
 * Order: every publish of a node goes through one connection, and every node receives on one connection, so events
 * reach each node in the order their publisher sent them (per guild: in the guild actor's order). Local subscribers
 * get their own node's events back from Redis too, so all nodes see one and the same order.
 *
 * Ids: every event keeps (or gets, `stampEventId`) its unique `id`; besides, each publish carries
 * `<node>.<boot nonce>:<counter>`, counter +1 per publish, so a receiver drops a message at or below the last counter
 * from that origin (a publish ioredis re-sent after a reconnect) and counts jumps as gaps.
 */
export class RedisDispatchBus implements DispatchBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly origin: string;
  private counter = 0;
  private readonly lastSeen = new Map<string, number>();
  private readonly listeners = new Set<(event: GatewayDispatch) => void>();
  private readonly metrics: ReturnType<typeof busMetrics>;
  private readonly rlog: RateLimitedLog;
  private readonly channels: string[];
  private closed = false;

  private constructor(private readonly opts: RedisDispatchBusOptions) {
    if (!Number.isInteger(opts.busShards) || opts.busShards < 1) throw new RangeError('busShards must be ≥ 1');
    this.origin = `${opts.nodeId}.${randomBytes(4).toString('hex')}`;
    this.pub = createRedis(opts.redisUrl);
    this.sub = createRedis(opts.redisUrl);
    watchRedis(this.pub, opts.logger, 'gateway-bus-pub');
    watchRedis(this.sub, opts.logger, 'gateway-bus-sub');
    this.metrics = busMetrics(opts.registry);
    this.rlog = new RateLimitedLog(opts.logger);
    this.channels = Array.from({ length: opts.busShards }, (_, i) => this.channel(i));
    this.sub.on('message', (_channel: string, message: string) => this.onMessage(message));
  }

  /** Connects and subscribes to every bus shard; resolves once Redis confirmed the subscriptions. */
  static async connect(opts: RedisDispatchBusOptions): Promise<RedisDispatchBus> {
    const bus = new RedisDispatchBus(opts);
    await bus.sub.subscribe(...bus.channels);
    return bus;
  }

  /** This node's origin id (the part of every bus id before the colon). */
  get originId(): string {
    return this.origin;
  }

  channel(shard: number): string {
    return `${this.opts.prefix}gw:bus:${shard}`;
  }

  async publish(event: GatewayDispatch): Promise<void> {
    if (this.closed) throw new Error('dispatch bus closed');
    stampEventId(event);
    const wire = encodeWire(`${this.origin}:${++this.counter}`, event as GatewayDispatch & { id: string });
    this.metrics.published.inc();
    this.metrics.publishedBytes.inc(wire.length);
    await this.pub.publish(this.channel(busShardOf(event.guildId, this.opts.busShards)), wire);
  }

  subscribe(listener: (event: GatewayDispatch) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    // Publishes already handed to ioredis are flushed by QUIT; the subscriber just goes.
    await this.pub.quit().catch(() => this.pub.disconnect());
    this.sub.disconnect();
  }

  private onMessage(message: string): void {
    const decoded = decodeWire(message);
    if (!decoded.ok) {
      this.metrics.malformed.inc({ reason: decoded.reason });
      this.rlog.warn(`bus-malformed:${decoded.reason}`, { reason: decoded.reason }, 'malformed bus message dropped');
      return;
    }
    const { origin, counter, event } = decoded;
    const last = this.lastSeen.get(origin);
    if (last !== undefined && counter <= last) {
      this.metrics.duplicates.inc();
      return;
    }
    if (last !== undefined && counter > last + 1) this.metrics.gaps.inc(counter - last - 1);
    this.lastSeen.set(origin, counter);
    // Origins are per boot: forget the oldest once restarted nodes have left many behind.
    if (this.lastSeen.size > 1024) this.lastSeen.delete(this.lastSeen.keys().next().value as string);
    this.metrics.received.inc();
    this.deliver(event);
  }

  private deliver(event: GatewayDispatch): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        // One faulty listener must not starve the others of the event.
        this.rlog.warn('bus-listener', { err: (err as Error).message, t: event.t }, 'dispatch listener threw');
      }
    }
  }
}
