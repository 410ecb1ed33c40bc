import type { Logger } from 'pino';
import { z } from 'zod';
import { parseEnv, port, type Env } from '../../../common/config.ts';
import { Registry } from '../../../common/metrics.ts';
import { createRedis, watchRedis } from '../../../common/redis.ts';
import type { GatewayHub } from '../hub.ts';
import type { SessionStore } from '../session-store.ts';
import { GatewayFront } from './front.ts';
import { GatewayNodes } from './nodes.ts';
import { RedisDispatchBus } from './redis-bus.ts';
import { RedisSessionStore } from './redis-session-store.ts';

/** Scale-out variables (README "Two gateway nodes on one Redis" documents each). */
export const fanoutShape = {
  /** `local`: one node; `redis`: dispatches, detached sessions and the node set go through Redis. */
  GATEWAY_LITE_BUS: z.enum(['local', 'redis']).default('local'),
  /** Bus channels (guild → channel `(guild_id >> 22) % N`); the same on every node. */
  GATEWAY_LITE_BUS_SHARDS: z.coerce.number().int().min(1).max(1024).default(16),
  /** This node's own ws:// gateway URL as the gateway front reaches it; default ws://BIND:PORT/gateway. */
  GATEWAY_LITE_NODE_URL: z.string().url().optional(),
  /** On shutdown: how long a draining node waits for its sessions to move (op 7) before closing. */
  GATEWAY_LITE_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).default(15_000),
  /** `resound start gateway-front`: its listening port. */
  GATEWAY_FRONT_PORT: port(8092),
};

export interface Fanout {
  bus: RedisDispatchBus;
  sessionStore: SessionStore;
  /** Joins the gateway node set once the node listens (its URL is known then). */
  attach(node: { hub: GatewayHub; url: string }): Promise<void>;
  /** Drain (the node leaves the front's rotation, op 7 to every session, wait), then leave the node set. */
  drain(): Promise<{ moved: number; attached: number }>;
  close(): Promise<void>;
}

/** The Redis side of one gateway node (GATEWAY_LITE_BUS=redis), or null for a single node. */
export async function startFanout(opts: {
  env: Env;
  redisUrl: string;
  prefix: string;
  nodeId: string;
  registry?: Registry;
  logger: Logger;
}): Promise<Fanout | null> {
  const e = parseEnv(fanoutShape, opts.env);
  if (e.GATEWAY_LITE_BUS === 'local') return null;
  const redis = createRedis(opts.redisUrl);
  watchRedis(redis, opts.logger, 'gateway-fanout');
  const bus = await RedisDispatchBus.connect({
    redisUrl: opts.redisUrl,
    prefix: opts.prefix,
    nodeId: opts.nodeId,
    busShards: e.GATEWAY_LITE_BUS_SHARDS,
    registry: opts.registry ?? new Registry(),
    logger: opts.logger,
  });
  let nodes: GatewayNodes | undefined;
  let hub: GatewayHub | undefined;
  return {
    bus,
    sessionStore: new RedisSessionStore(redis, opts.prefix),
    async attach(node) {
      hub = node.hub;
      const url = e.GATEWAY_LITE_NODE_URL ?? `${node.url.replace(/^http/, 'ws')}/gateway`;
      nodes = new GatewayNodes({
        redis,
        prefix: opts.prefix,
        self: { id: opts.nodeId, url, draining: false },
        ttlMs: 15_000,
      });
      nodes.on('error', (err) => opts.logger.warn({ err: err.message }, 'gateway node lease renewal failed'));
      await nodes.start();
    },
    async drain() {
      await nodes?.setDraining(true);
      // Fronts re-read the node set every second: let them stop sending new sockets here before the op 7s go out.
      if (nodes) await new Promise((r) => setTimeout(r, 1500));
      const r = hub ? await hub.drain(e.GATEWAY_LITE_DRAIN_TIMEOUT_MS) : { moved: 0, attached: 0 };
      opts.logger.info(r, 'gateway node drained');
      return r;
    },
    async close() {
      await nodes?.close();
      await bus.close();
      redis.disconnect();
    },
  };
}

/** `resound start gateway-front`: the one gateway URL in front of every live, non-draining node. */
export async function startFrontFromEnv(opts: {
  env: Env;
  bind: string;
  redisUrl: string;
  prefix: string;
  registry: Registry;
  logger: Logger;
}): Promise<{ url: string; close(): Promise<void> }> {
  const e = parseEnv(fanoutShape, opts.env);
  const redis = createRedis(opts.redisUrl);
  watchRedis(redis, opts.logger, 'gateway-front');
  const observer = new GatewayNodes({
    redis,
    prefix: opts.prefix,
    self: { id: '', url: '', draining: false },
    ttlMs: 3000,
  });
  await observer.start();
  const front = new GatewayFront({
    host: opts.bind,
    port: e.GATEWAY_FRONT_PORT,
    nodes: () => observer.nodes,
    registry: opts.registry,
    logger: opts.logger,
  });
  const url = await front.listen();
  return {
    url: `${url}/gateway`,
    close: async () => {
      await front.close();
      await observer.close(false);
      redis.disconnect();
    },
  };
}
