import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { HttpLimits } from '../common/http-limits.ts';
import { createHttpServer, listenHttp } from '../common/http.ts';
import { Registry } from '../common/metrics.ts';
import { createRedis, type Redis } from '../common/redis.ts';
import { SnowflakeGenerator } from '../common/snowflake.ts';
import type { GatewayLiteConfig } from './config.ts';
import { memberAddDispatch, memberRemoveDispatch } from './gateway/dispatches.ts';
import { LocalDispatchBus, type DispatchBus, type GatewayCommandHandlers } from './gateway/events.ts';
import type { GatewayHub } from './gateway/hub.ts';
import { startGatewayNode } from './gateway/node.ts';
import type { SessionStore } from './gateway/session-store.ts';
import { EndpointCaller } from './interactions/endpoint.ts';
import { createInteractionMetrics } from './interactions/metrics.ts';
import { OutboundClient } from './interactions/outbound.ts';
import { Interactions } from './interactions/service.ts';
import { InteractionState } from './interactions/state.ts';
import { GuildHost } from './guilds/guild-host.ts';
import { GuildInvalidation } from './guilds/guild-invalidation.ts';
import { NodeMembership } from './guilds/node-membership.ts';
import { MediaProxyUploader, type AttachmentUploader } from './rest/attachments.ts';
import { PlaceholderJobs } from './rest/placeholder-job.ts';
import type { RestContext } from './rest/context.ts';
import { createRestMetrics } from './rest/metrics.ts';
import { RateLimiter } from './rest/rate-limit.ts';
import { registerRestApi } from './rest/server.ts';
import { ReadStates } from './read-states/index.ts';
import { openStorage, registerStorageMetrics } from './storage/index.ts';
import type { Storage, StoredMember } from './storage/types.ts';
import { loadVoiceBridgeConfig, VoiceBridge, type VoiceBridgeConfig, type VoiceFleet } from './voice-bridge/index.ts';

export interface GatewayLiteOptions {
  config: GatewayLiteConfig;
  redisUrl: string;
  logger: Logger;
  /** Ids minted by this node (worker/process bits from the common config). */
  ids?: SnowflakeGenerator;
  /** Overrides the media-proxy HTTP uploader (tests may pass their own MediaProxy's URL through config instead). */
  uploader?: AttachmentUploader;
  /** Overrides the storage opened from config (tests sharing one database between nodes). */
  storage?: Storage;
  /** HTTP timeouts and connection caps (RESOUND_HTTP_*). */
  httpLimits?: HttpLimits;
  /** Interface of the internal listener (/metrics, /healthz); RESOUND_INTERNAL_BIND, loopback by default. */
  internalBind?: string;
  /** Carries dispatches to the gateway sessions of every node; default: this process only (LocalDispatchBus). */
  bus?: DispatchBus;
  /** Client commands owned by other modules (op 4 → the voice bridge). */
  commands?: GatewayCommandHandlers;
  /** Where detached sessions wait for Resume; default in memory (resume on this node only). */
  sessionStore?: SessionStore;
  /** The voice servers op 4 hands clients to (bin/ builds it from signaling): the node runs a voice bridge on it. */
  voiceFleet?: VoiceFleet;
  /** The voice bridge's op 4 limits (GATEWAY_LITE_VOICE_*); defaults when unset. */
  voiceBridge?: VoiceBridgeConfig;
}

export interface GatewayLite {
  app: FastifyInstance;
  url: string;
  /** The operators' listener: /metrics and /healthz, never the public one. */
  internalUrl: string;
  storage: Storage;
  guilds: GuildHost;
  registry: Registry;
  /** Read states (LRU written to storage on eviction and within 30 s of a change). */
  readStates: ReadStates;
  /** The dispatch bus (REST routes and actors publish; every node's hub subscribes). */
  bus: DispatchBus;
  /** The v10 gateway sessions of this node (`reconnectAll()`, `drain()`). */
  hub: GatewayHub;
  /** ws://HOST:PORT/gateway (or GATEWAY_LITE_GATEWAY_URL). */
  gatewayUrl: string;
  /** The voice bridge (op 4), when a voice fleet was given. */
  voice?: VoiceBridge;
  /** Application commands' invocations, callbacks and webhook tokens. */
  interactions: Interactions;
  close(): Promise<void>;
}

/**
 * The platform node: storage (behind the data service), the guild host (actors on the ring), the REST API on the
 * common fastify base (/healthz, /metrics), listening. `close()` stops listening, drains actors, leaves the ring and
 * closes storage, in that order.
 */
export async function startGatewayLite(opts: GatewayLiteOptions): Promise<GatewayLite> {
  const { config, logger } = opts;
  const storage = opts.storage ?? (await openStorage(config.storage));
  // Auto-pipelining: commands issued in the same tick (rate-limit scripts, interaction state of concurrent requests)
  // leave in one socket write instead of one write syscall each; order per connection is unchanged.
  const redis: Redis = createRedis(opts.redisUrl, { maxRetriesPerRequest: 1, enableAutoPipelining: true });
  redis.on('error', () => {}); // surfaced per request (503) instead of crashing the process
  const membership =
    config.placement === 'redis'
      ? new NodeMembership({ redis, prefix: config.redisPrefix, nodeId: config.nodeId, ttlMs: config.nodeTtlMs })
      : undefined;
  await membership?.start();
  const invalidation = membership
    ? new GuildInvalidation(redis, createRedis(opts.redisUrl, { maxRetriesPerRequest: 1 }), config.redisPrefix)
    : undefined;
  await invalidation?.start();
  membership?.on('error', (err) => logger.warn({ err: err.message }, 'ring lease renewal failed'));
  const bus = opts.bus ?? new LocalDispatchBus();
  const publishMember = async (change: 'add' | 'remove', member: StoredMember) => {
    const user = await storage.getUser(member.userId);
    await bus.publish(change === 'add' ? memberAddDispatch(member, user) : memberRemoveDispatch(member, user));
  };
  const guilds = new GuildHost({
    nodeId: config.nodeId,
    store: storage,
    membership,
    invalidation,
    hooks: {
      onRestart: (guildId, err) => logger.error({ guildId, err }, 'guild actor restarted from storage'),
      onMember: (guildId, change, member) =>
        void publishMember(change, member).catch((err: Error) =>
          logger.warn({ guildId, err: err.message }, 'could not publish a member change'),
        ),
    },
  });
  const registry = new Registry();
  const metrics = createRestMetrics(registry);
  const ids = opts.ids ?? new SnowflakeGenerator();
  const readStates = new ReadStates({ store: storage, logger });
  registerStorageMetrics(registry, storage, readStates);
  const health = async () => ({ redis: await redis.ping(), storage: storage.kind, nodes: guilds.nodes });
  const app = createHttpServer({
    part: 'gateway-lite',
    logger,
    registry,
    bodyLimit: config.maxJsonBytes,
    limits: opts.httpLimits,
    metrics: false,
    health,
  });
  const internalApp = createHttpServer({ part: 'gateway-lite', logger, registry, limits: opts.httpLimits, health });
  const ic = config.interactions;
  const interactions = new Interactions({
    storage,
    state: new InteractionState(redis, `${config.redisPrefix}ix:`, ic.tokenTtlMs),
    bus,
    endpoints: new EndpointCaller(
      new OutboundClient({
        allow: ic.allow,
        connectTimeoutMs: ic.connectTimeoutMs,
        responseTimeoutMs: ic.responseTimeoutMs,
        maxResponseBytes: config.maxJsonBytes,
      }),
    ),
    metrics: createInteractionMetrics(registry),
    logger: logger.child({ module: 'interactions' }),
    newId: () => ids.next(),
    ackMs: ic.ackMs,
  });
  const ctx: RestContext = {
    storage,
    guilds,
    uploader:
      opts.uploader ??
      (config.mediaProxy ? new MediaProxyUploader(config.mediaProxy.url, config.mediaProxy.token) : undefined),
    readStates,
    bus,
    gatewayUrl: '',
    gateway: {
      shards: config.gateway.shards,
      maxConcurrency: config.gateway.maxConcurrency,
      sessionStartLimit: config.gateway.sessionStartLimit,
    },
    maxUploadBytes: config.maxUploadBytes,
    newId: () => ids.next(),
    interactions,
    placeholders: new PlaceholderJobs(storage, bus, logger.child({ module: 'placeholders' })),
  };
  await registerRestApi(app, {
    ctx,
    limiter: new RateLimiter({ redis, prefix: `${config.redisPrefix}rl:`, ...config.rateLimits }),
    metrics,
    logger,
  });
  // op 4 → guild voice state + a voice server from the fleet (bin/ hands the fleet in; without one op 4 is ignored).
  const voice = opts.voiceFleet
    ? new VoiceBridge({
        guilds,
        store: storage,
        bus,
        fleet: opts.voiceFleet,
        logger: logger.child({ component: 'voice-bridge' }),
        registry,
        config: opts.voiceBridge ?? loadVoiceBridgeConfig({}),
      })
    : undefined;
  const gateway = startGatewayNode({
    config: config.gateway,
    nodeId: config.nodeId,
    server: app.server,
    storage,
    guilds,
    bus,
    store: opts.sessionStore,
    commands: voice
      ? { voiceStateUpdate: voice.voiceStateUpdate, sessionEnded: voice.sessionEnded, ...opts.commands }
      : opts.commands,
    registry,
    logger,
    resumeUrl: () => config.gateway.resumeUrl ?? ctx.gatewayUrl,
  });
  const url = await listenHttp(app, {
    listener: 'gateway-lite REST',
    variable: 'GATEWAY_LITE_PORT',
    host: config.bind,
    port: config.port,
  });
  const internalUrl = await listenHttp(internalApp, {
    listener: 'gateway-lite internal',
    variable: 'GATEWAY_LITE_INTERNAL_PORT',
    host: opts.internalBind ?? '127.0.0.1',
    port: config.internalPort,
  }).catch(async (err: unknown) => {
    await gateway.close();
    await app.close();
    throw err;
  });
  ctx.gatewayUrl = config.gatewayUrl ?? `${url.replace(/^http/, 'ws')}/gateway`;
  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    internalUrl,
    storage,
    guilds,
    registry,
    readStates,
    bus,
    interactions,
    hub: gateway.hub,
    voice,
    get gatewayUrl() {
      return ctx.gatewayUrl;
    },
    close: () =>
      (closing ??= (async () => {
        await gateway.close();
        await voice?.close();
        await Promise.all([app.close(), internalApp.close()]);
        interactions.close();
        await ctx.placeholders?.drain();
        await guilds.close();
        await readStates.close();
        await membership?.close();
        invalidation?.close();
        redis.disconnect();
        if (!opts.bus) await bus.close();
        if (!opts.sessionStore) await gateway.store.close();
        if (!opts.storage) await storage.close();
      })()),
  };
}
