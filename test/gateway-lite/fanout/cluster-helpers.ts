/**
 * Two (or more) real gateway-lite nodes on one Redis and one storage, behind a GatewayFront: each node has its own
 * RedisDispatchBus, RedisSessionStore and entry in the gateway node set; GET /gateway/bot and READY's
 * resume_gateway_url point at the front, as a load balancer would in production.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { rootLogger } from '../../../common/logger.ts';
import { Registry } from '../../../common/metrics.ts';
import { createRedis, type Redis } from '../../../common/redis.ts';
import {
  GatewayFront,
  GatewayNodes,
  RedisDispatchBus,
  RedisSessionStore,
  loadGatewayLiteConfig,
  seedPlatform,
  startGatewayLite,
  type GatewayLite,
  type SeedResult,
} from '../../../gateway-lite/index.ts';
import { openStorage, type Storage } from '../../../gateway-lite/storage/index.ts';
import { REST } from '@discordjs/rest';
import { WebSocketManager, type SessionInfo } from '@discordjs/ws';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { GATEWAY_TEST_ENV, watchManager, type DjsClient } from '../gateway-helpers.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface ClusterNode {
  id: string;
  lite: GatewayLite;
  bus: RedisDispatchBus;
  nodes: GatewayNodes;
  /** ws://…/gateway of this node itself (the front forwards here). */
  directUrl: string;
  /** Posts a message through this node's REST API; resolves with its id. */
  post(content: string): Promise<string>;
}

export interface Cluster {
  prefix: string;
  storage: Storage;
  seed: SeedResult;
  frontUrl: string;
  front: GatewayFront;
  observer: GatewayNodes;
  redis: Redis;
  start(id: string, opts?: { register?: boolean }): Promise<ClusterNode>;
  close(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const prefix = `resound:test:gw-cluster:${randomBytes(4).toString('hex')}:`;
  const dataDir = fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, 'gw-cluster-'));
  const storage = await openStorage({ kind: 'sqlite', dataDir, synchronous: 'normal' });
  const seed = await seedPlatform(storage);
  const redis = createRedis(REDIS_URL);
  const logger = rootLogger().child({ test: 'cluster' });
  const observer = new GatewayNodes({ redis, prefix, self: { id: '', url: '', draining: false }, ttlMs: 5000 });
  const front = new GatewayFront({
    host: '127.0.0.1',
    port: 0,
    nodes: () => observer.nodes,
    registry: new Registry(),
    logger,
  });
  const frontUrl = `${await front.listen()}/gateway`;
  const started: ClusterNode[] = [];
  return {
    prefix,
    storage,
    seed,
    frontUrl,
    front,
    observer,
    redis,
    async start(id, opts = {}) {
      const registry = new Registry();
      const config = loadGatewayLiteConfig(
        {
          ...GATEWAY_TEST_ENV,
          GATEWAY_LITE_PORT: '0',
          GATEWAY_LITE_INTERNAL_PORT: '0',
          GATEWAY_LITE_REDIS_PREFIX: prefix,
          GATEWAY_LITE_NODE_ID: id,
          GATEWAY_LITE_PLACEMENT: 'redis',
          GATEWAY_LITE_NODE_TTL_MS: '3000',
          GATEWAY_LITE_GATEWAY_URL: frontUrl,
          GATEWAY_LITE_RESUME_URL: frontUrl,
          GATEWAY_LITE_RL_MESSAGE_POST: '10000/1000',
          GATEWAY_LITE_RL_DEFAULT: '10000/1000',
          GATEWAY_LITE_RL_GLOBAL_PER_S: '10000',
        },
        { RESOUND_DATA_DIR: dataDir, RESOUND_BIND: '127.0.0.1' },
      );
      const bus = await RedisDispatchBus.connect({
        redisUrl: REDIS_URL,
        prefix,
        nodeId: id,
        busShards: 4,
        registry,
        logger,
      });
      const lite = await startGatewayLite({
        config,
        redisUrl: REDIS_URL,
        logger: logger.child({ node: id }),
        storage,
        bus,
        sessionStore: new RedisSessionStore(redis, prefix),
      });
      const directUrl = `${lite.url.replace(/^http/, 'ws')}/gateway`;
      const nodes = new GatewayNodes({ redis, prefix, self: { id, url: directUrl, draining: false }, ttlMs: 5000 });
      if (opts.register !== false) await nodes.start();
      await observer.refresh();
      const node: ClusterNode = {
        id,
        lite,
        bus,
        nodes,
        directUrl,
        async post(content) {
          const res = await fetch(`${lite.url}/api/v10/channels/${seed.textChannelId}/messages`, {
            method: 'POST',
            headers: { authorization: `Bot ${seed.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ content }),
          });
          if (res.status !== 200) throw new Error(`post on ${id}: ${res.status} ${await res.text()}`);
          return ((await res.json()) as { id: string }).id;
        },
      };
      started.push(node);
      return node;
    },
    async close() {
      await front.close();
      for (const n of started.reverse()) {
        await n.nodes.close();
        await n.lite.close();
        await n.bus.close();
      }
      await storage.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

/**
 * A real @discordjs/ws client on `api` (REST base; GET /gateway/bot there answers the front's URL). Each gets its own
 * session-info map: @discordjs/ws keeps session info in a process-wide store keyed by shard id by default, so two
 * managers in one process would resume each other's sessions.
 */
export function clusterClient(api: string, token: string): DjsClient {
  const rest = new REST({ api, version: '10' }).setToken(token);
  const sessions = new Map<number, SessionInfo>();
  const manager = new WebSocketManager({
    token,
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
    rest,
    retrieveSessionInfo: (shardId) => sessions.get(shardId) ?? null,
    updateSessionInfo: (shardId, info) => void (info ? sessions.set(shardId, info) : sessions.delete(shardId)),
  });
  return watchManager(rest, manager);
}
