/**
 * The platform core's public face (guild state, message storage, member lists, the Discord REST API). Other parts
 * and bin/ import only from here.
 */
import { ConfigError, loadCommonConfig } from '../common/config.ts';
import { httpLimitsOf } from '../common/http-limits.ts';
import { logListening } from '../common/http.ts';
import type { PartContext, PartStarter, RunningPart } from '../common/part.ts';
import { SnowflakeGenerator } from '../common/snowflake.ts';
import { loadGatewayLiteConfig } from './config.ts';
import { seedPlatform } from './seed.ts';
import { EndpointCaller } from './interactions/endpoint.ts';
import { OutboundClient } from './interactions/outbound.ts';
import { API_PREFIX } from './rest/server.ts';
import { startGatewayLite, type GatewayLite } from './service.ts';
import { startFanout, startFrontFromEnv, type RedisDispatchBus } from './gateway/fanout/index.ts';
import { Registry } from '../common/metrics.ts';
import { BusPresence, PushService, WebhookSink, loadPushConfig } from './push/index.ts';
import type { Logger } from '../common/logger.ts';
import { openStorage } from './storage/index.ts';
import { loadVoiceBridgeConfig, type VoiceFleet } from './voice-bridge/index.ts';

export { OrderStatisticSet, type Compare, type OrderStatisticSetOptions } from './member-list/order-statistic-set.ts';
export { MemberList, sortKey, byKey, keyPrefix, type Keyed } from './member-list/member-list.ts';
export type { ListItem, ListMember, ListOp, MemberListUpdate, GroupId } from './member-list/types.ts';
export { loadGatewayLiteConfig, gatewayLiteShape, type GatewayLiteConfig } from './config.ts';
export { startGatewayLite, type GatewayLite, type GatewayLiteOptions } from './service.ts';
export { seedPlatform, type SeedResult } from './seed.ts';
export { GuildActor, type GuildActorHooks, type GuildSnapshot } from './guilds/guild-actor.ts';
export { GuildHost, NotOwnerError } from './guilds/guild-host.ts';
export { NodeMembership } from './guilds/node-membership.ts';
export { API_PREFIX } from './rest/server.ts';
export {
  Intent,
  LocalDispatchBus,
  GatewayCloseError,
  stampEventId,
  type DispatchBus,
  type DispatchName,
  type GatewayDispatch,
  type GatewayCommandHandlers,
} from './gateway/events.ts';
export { GatewayHub, type HubOptions } from './gateway/hub.ts';
export {
  MemorySessionStore,
  type SessionStore,
  type SessionRecord,
  type ReplayEntry,
} from './gateway/session-store.ts';
export { CloseCode, mayReconnect } from './gateway/close-codes.ts';
export { Op } from './gateway/opcodes.ts';
export { createEncoder, type Compression, type FrameEncoder } from './gateway/compression.ts';
export { PreparedDispatch, dispatchFrame } from './gateway/serialize.ts';
export { voiceStateJson, presenceJson } from './gateway/guild-payload.ts';
export {
  messageDispatch,
  messageDeleteDispatch,
  typingDispatch,
  channelCreateDispatch,
  memberAddDispatch,
  memberRemoveDispatch,
} from './gateway/dispatches.ts';
export { GATEWAY_PATH } from './gateway/ws-server.ts';
export type { GatewayConfig } from './config.ts';
export { openStorage, type Storage } from './storage/index.ts';
export {
  VoiceBridge,
  loadVoiceBridgeConfig,
  voiceBridgeShape,
  type VoiceBridgeConfig,
  type VoiceBridgeOptions,
  type VoiceFleet,
  type VoiceFleetEvent,
  type VoiceJoinRequest,
  type VoiceJoinTicket,
  type VoiceReleaseRequest,
} from './voice-bridge/index.ts';
export { Interactions, type Invocation, type Outcome } from './interactions/service.ts';
export { computePlaceholder, PLACEHOLDER_MAX_SIDE } from './rest/placeholder.ts';

/** `resound start gateway-lite` (alias `platform`): storage, guild actors and the Discord REST API. */
export const start: PartStarter = (ctx) => startWith(ctx);

/** The part with what bin/ wires in: the voice fleet op 4 hands clients to (its voice bridge settings from env). */
export async function startWith(ctx: PartContext, extra: { voiceFleet?: VoiceFleet } = {}): Promise<RunningPart> {
  const config = loadGatewayLiteConfig(ctx.env, ctx.common);
  const handle = await ctx.redis();
  const logger = ctx.logger.child({ part: 'gateway-lite' });
  // GATEWAY_LITE_BUS=redis: bus, session store and node set in Redis (several nodes); null = one node.
  const fanout = await startFanout({
    env: ctx.env,
    redisUrl: handle.url,
    prefix: config.redisPrefix,
    nodeId: config.nodeId,
    logger,
  });
  const node = await startGatewayLite({
    config,
    redisUrl: handle.url,
    logger,
    ids: new SnowflakeGenerator(ctx.common.RESOUND_WORKER_ID, ctx.common.RESOUND_PROCESS_ID),
    httpLimits: httpLimitsOf(ctx.common),
    internalBind: ctx.common.RESOUND_INTERNAL_BIND,
    voiceFleet: extra.voiceFleet,
    voiceBridge: loadVoiceBridgeConfig(ctx.env),
    ...(fanout ? { bus: fanout.bus, sessionStore: fanout.sessionStore } : {}),
  });
  await fanout?.attach(node);
  const push = startPushFromEnv(ctx.env, node, fanout?.bus, logger);
  logListening(ctx.logger, 'gateway-lite', node.url, {
    api: `${node.url}${API_PREFIX}`,
    gateway: node.gatewayUrl,
    storage: config.storage.kind,
    node: config.nodeId,
  });
  logListening(ctx.logger, 'gateway-lite', node.internalUrl, { internal: true, serves: ['/metrics'] });
  return {
    name: 'gateway-lite',
    urls: { http: node.url, internal: node.internalUrl },
    close: async () => {
      // Several nodes: move this node's sessions to the others first (op 7, resumed elsewhere from Redis).
      await fanout?.drain();
      await push?.close();
      await node.close();
      await fanout?.close();
    },
  };
}

/** Push when GATEWAY_LITE_PUSH_WEBHOOK_URL is set: mentions of users with no live session → signed webhook. */
function startPushFromEnv(
  env: Record<string, string | undefined>,
  node: GatewayLite,
  redisBus: RedisDispatchBus | undefined,
  logger: Logger,
): PushService | null {
  const push = loadPushConfig(env);
  if (!push.webhook) return null;
  return new PushService({
    bus: node.bus,
    origin: redisBus?.originId,
    presence: new BusPresence(node.bus, (u) => [...node.hub.sessionsOf(u)].length > 0),
    sink: new WebhookSink(push.webhook),
    capacity: push.capacity,
    concurrency: push.concurrency,
    batchSize: push.batchSize,
    registry: node.registry,
    logger: logger.child({ component: 'push' }),
  });
}

/**
 * `resound seed [--interactions-endpoint-url URL]`: a guild, channels, a bot user with its application and a user in
 * the configured storage; prints the tokens once. With a URL, the application's endpoint is checked the way
 * PATCH /applications/@me checks it (signed PING, bad-signature probe) and saved.
 */
export async function seedCommand(argv: string[]): Promise<void> {
  const common = loadCommonConfig();
  const config = loadGatewayLiteConfig(process.env, common);
  const at = argv.indexOf('--interactions-endpoint-url');
  const endpointUrl = at >= 0 ? argv[at + 1] : undefined;
  if (at >= 0 && !endpointUrl) throw new ConfigError(['--interactions-endpoint-url needs a URL']);
  const storage = await openStorage(config.storage);
  try {
    const ids = new SnowflakeGenerator(common.RESOUND_WORKER_ID, common.RESOUND_PROCESS_ID);
    const s = await seedPlatform(storage, { ids });
    if (endpointUrl) {
      // The key first: the endpoint needs it to verify the check that follows (retried while nothing answers).
      console.log(`application      ${s.applicationId}  verify_key ${s.verifyKey}`);
      console.log(`checking         ${endpointUrl} (waiting up to 60 s for it to answer)`);
      const app = (await storage.apps.getApplication(s.applicationId))!;
      const caller = new EndpointCaller(
        new OutboundClient({ ...config.interactions, maxResponseBytes: config.maxJsonBytes }),
      );
      const why = await caller.verifyWhenUp(app, endpointUrl, ids.next(), 'seed-ping', 60_000);
      if (why) throw new ConfigError([`interactions endpoint ${endpointUrl} refused: ${why}`]);
      await storage.apps.upsertApplication({ ...app, interactionsEndpointUrl: endpointUrl });
    }
    const api = `http://${config.bind}:${config.port}${API_PREFIX}`;
    console.log(
      [
        `guild            ${s.guildId}`,
        `text channel     ${s.textChannelId}  (#general)`,
        `voice channel    ${s.voiceChannelId}`,
        `bot user         ${s.botId}`,
        `bot token        ${s.token}`,
        `application      ${s.applicationId}  verify_key ${s.verifyKey}`,
        ...(endpointUrl ? [`endpoint url     ${endpointUrl}`] : []),
        `user token       ${s.userToken}  (the owner; a bare Authorization header — invokes commands)`,
        '',
        `try: curl -H "Authorization: Bot ${s.token}" ${api}/channels/${s.textChannelId}/messages`,
      ].join('\n'),
    );
  } finally {
    await storage.close();
  }
}

export * from './gateway/fanout/index.ts';
export * from './push/index.ts';

/** `resound start gateway-front`: one gateway URL over the live, non-draining gateway nodes (GATEWAY_FRONT_PORT). */
export const startFront: PartStarter = async (ctx) => {
  const config = loadGatewayLiteConfig(ctx.env, ctx.common);
  const handle = await ctx.redis();
  const logger = ctx.logger.child({ part: 'gateway-front' });
  const registry = new Registry();
  const front = await startFrontFromEnv({
    env: ctx.env,
    bind: ctx.common.RESOUND_BIND,
    redisUrl: handle.url,
    prefix: config.redisPrefix,
    registry,
    logger,
  });
  logListening(ctx.logger, 'gateway-front', front.url, { gateway: front.url });
  return { name: 'gateway-front', urls: { ws: front.url }, close: () => front.close() };
};
