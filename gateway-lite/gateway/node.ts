import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config.ts';
import type { GuildHost } from '../guilds/guild-host.ts';
import { BotAuth } from '../rest/auth.ts';
import type { Storage } from '../storage/types.ts';
import type { DispatchBus, GatewayCommandHandlers } from './events.ts';
import { StorageGuildSource } from './guild-payload.ts';
import { GatewayHub } from './hub.ts';
import { IntentGrants } from './intents.ts';
import { IdentifyThrottle } from './limits.ts';
import { createGatewayMetrics } from './metrics.ts';
import { MemorySessionStore, type SessionStore } from './session-store.ts';
import { attachGatewayServer } from './ws-server.ts';

export interface GatewayNodeOptions {
  config: GatewayConfig;
  nodeId: string;
  /** The HTTP server whose upgrades on /gateway become gateway sockets (the REST listener). */
  server: Server;
  storage: Storage;
  guilds: GuildHost;
  bus: DispatchBus;
  store?: SessionStore;
  commands?: GatewayCommandHandlers;
  registry: Registry;
  logger: Logger;
  /** READY's resume_gateway_url, read at Identify time (the listener's port is known only after listen). */
  resumeUrl: () => string;
}

export interface GatewayNode {
  hub: GatewayHub;
  store: SessionStore;
  close(): Promise<void>;
}

/** Wires the v10 gateway of one node: hub (sessions, routing), session store, WS endpoint, metrics. */
export function startGatewayNode(opts: GatewayNodeOptions): GatewayNode {
  const { config, guilds } = opts;
  const auth = new BotAuth(opts.storage);
  const store = opts.store ?? new MemorySessionStore();
  const hub = new GatewayHub({
    nodeId: opts.nodeId,
    bus: opts.bus,
    store,
    guilds: new StorageGuildSource(opts.storage, guilds),
    auth: (token) => auth.authenticate(`Bot ${token}`),
    commands: opts.commands,
    presence: async (userId, guildId, status) => {
      if (guilds.owns(guildId)) await guilds.actor(guildId).setPresence(userId, status);
    },
    handshake: {
      resumeGatewayUrl: opts.resumeUrl,
      maxShards: config.maxShards,
      maxGuildsPerShard: 2500,
      grants: new IntentGrants(config.privilegedIntents),
      throttle: new IdentifyThrottle(config.maxConcurrency, config.identifyWindowMs),
      replayMax: config.replayMax,
    },
    connection: {
      heartbeatIntervalMs: config.heartbeatMs,
      commandLimit: { limit: config.commands.limit, windowMs: config.commands.windowMs },
      shedBytes: config.shedBytes,
      maxBufferedBytes: config.maxBufferedBytes,
    },
    resumeTtlMs: config.resumeTtlMs,
    metrics: createGatewayMetrics(opts.registry),
    logger: opts.logger.child({ component: 'gateway' }),
  });
  const ws = attachGatewayServer(opts.server, {
    hub,
    compression: { zstdLevel: config.zstdLevel, zstdWindowLog: config.zstdWindowLog },
  });
  return {
    hub,
    store,
    close: async () => {
      await hub.close();
      ws.close();
    },
  };
}
