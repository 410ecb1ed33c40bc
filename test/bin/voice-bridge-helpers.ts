/**
 * A voice bridge on real parts, without the v10 socket layer: SQLite storage, the guild host, the in-process dispatch
 * bus, real voice servers (testkit) and the composed fleet from bin/. Gateway "sessions" are plain (user, session id)
 * pairs whose @discordjs/voice adapter does what discord.js's guild.voiceAdapterCreator does: op 4 goes to the bridge,
 * VOICE_STATE_UPDATE (own user) and VOICE_SERVER_UPDATE (addressed to the user) come back from the bus.
 */
import fs from 'node:fs';
import path from 'node:path';
import { entersState, joinVoiceChannel, VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { pino } from 'pino';
import { ComposedVoiceFleet } from '../../bin/voice-fleet.ts';
import { attachVoiceServer, InProcessVoiceLink, RedisVoiceLink, type VoiceLink } from '../../bin/voice-link.ts';
import { Registry } from '../../common/metrics.ts';
import { createRedis, type Redis } from '../../common/redis.ts';
import { snowflake } from '../../common/snowflake.ts';
import {
  GuildHost,
  LocalDispatchBus,
  VoiceBridge,
  loadVoiceBridgeConfig,
  openStorage,
  type GatewayDispatch,
  type Storage,
  type VoiceBridgeConfig,
} from '../../gateway-lite/index.ts';
import {
  loadSignalingConfig,
  voiceTokenSecret,
  VoicePlacement,
  VoiceTokenSigner,
  type VoiceGateway,
} from '../../signaling/index.ts';
import { dropPrefix, startTestGateway } from '../../testkit/index.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

export interface Seeded {
  guildId: string;
  voice1: string;
  voice2: string;
  text: string;
  users: string[];
  /** A guild none of `users` is in. */
  otherGuild: string;
}

export interface GatewayUser {
  userId: string;
  sessionId: string;
}

export interface Rig {
  store: Storage;
  guilds: GuildHost;
  bus: LocalDispatchBus;
  bridge: VoiceBridge;
  registry: Registry;
  voices: VoiceGateway[];
  dispatches: GatewayDispatch[];
  /** Errors the bridge threw at an adapter's op 4 (GatewayCloseError and others). */
  errors: unknown[];
  seed(users: number): Promise<Seeded>;
  connect(user: GatewayUser, guildId: string, channelId: string): VoiceConnection;
  /** Voice server `i` announces its departure and shuts down, as compose.ts does on close. */
  killVoice(i: number): Promise<void>;
  counter(name: string, labels: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** `voices` voice servers; with more than one they share a Redis placement (and the link runs on Redis). */
export async function startRig(voices = 1, bridgeEnv: Record<string, string> = {}): Promise<Rig> {
  const dataDir = fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, 'voice-bridge-'));
  const store = await openStorage({ kind: 'sqlite', dataDir, synchronous: 'normal' });
  const guilds = new GuildHost({ nodeId: 'test', store });
  const bus = new LocalDispatchBus();
  const registry = new Registry();
  const prefix = `resound:test:vb:${process.pid}:${Date.now().toString(36)}`;
  const fleetMode = voices > 1;
  const env: Record<string, string> = fleetMode ? { VOICE_PLACEMENT: 'redis', VOICE_PLACEMENT_PREFIX: prefix } : {};
  const gws: VoiceGateway[] = [];
  for (let i = 0; i < voices; i++) gws.push(await startTestGateway(env, fleetMode ? { redisUrl: REDIS_URL } : {}));
  const link: VoiceLink = fleetMode ? await RedisVoiceLink.open(REDIS_URL, prefix, logger) : new InProcessVoiceLink();
  // Each voice server gets its own link end, as separate processes would.
  const voiceLinks: VoiceLink[] = [];
  const attached: ReturnType<typeof attachVoiceServer>[] = [];
  for (const gw of gws) {
    const l = fleetMode ? await RedisVoiceLink.open(REDIS_URL, prefix, logger) : link;
    voiceLinks.push(l);
    attached.push(attachVoiceServer(gw, l, logger));
  }
  const placementRedis: Redis | null = fleetMode ? createRedis(REDIS_URL) : null;
  const config = loadSignalingConfig({});
  const alive = new Set(gws);
  const fleet = new ComposedVoiceFleet({
    signer: new VoiceTokenSigner(voiceTokenSecret(config, process.env.RESOUND_TEST_DATA_DIR!)),
    tokenTtlMs: config.VOICE_TOKEN_TTL_S * 1000,
    placement: placementRedis ? new VoicePlacement({ redis: placementRedis, prefix }) : null,
    endpoint: () => (alive.has(gws[0]) ? gws[0].endpoint : null),
    link,
    logger,
    pollMs: 500,
  });
  const bridgeConfig: VoiceBridgeConfig = loadVoiceBridgeConfig(bridgeEnv);
  const bridge = new VoiceBridge({ guilds, store, bus, fleet, logger, registry, config: bridgeConfig });
  const dispatches: GatewayDispatch[] = [];
  bus.subscribe((e) => dispatches.push(e));
  const errors: unknown[] = [];
  const connections: VoiceConnection[] = [];

  return {
    store,
    guilds,
    bus,
    bridge,
    registry,
    voices: gws,
    dispatches,
    errors,
    async seed(n) {
      const guildId = snowflake();
      const otherGuild = snowflake();
      await store.upsertGuild({ id: guildId, name: 'voice', ownerId: snowflake(), icon: null });
      await store.upsertGuild({ id: otherGuild, name: 'elsewhere', ownerId: snowflake(), icon: null });
      const users: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = snowflake();
        users.push(id);
        await store.upsertUser({ id, username: `bot${i}`, globalName: null, avatar: null, bot: true, tokenHash: null });
        await store.upsertMember({ guildId, userId: id, nick: null, roleIds: [], joinedAt: Date.now() });
      }
      const channel = async (type: 0 | 2, name: string) => {
        const id = snowflake();
        await store.upsertChannel({
          id,
          guildId,
          type,
          name,
          position: 0,
          topic: null,
          parentId: null,
          bitrate: type === 2 ? 64000 : null,
          userLimit: type === 2 ? 0 : null,
        });
        return id;
      };
      return {
        guildId,
        otherGuild,
        users,
        voice1: await channel(2, 'Voice 1'),
        voice2: await channel(2, 'Voice 2'),
        text: await channel(0, 'general'),
      };
    },
    connect(user, guildId, channelId) {
      const connection = joinVoiceChannel({
        guildId,
        channelId,
        group: `gw-${user.userId}`,
        selfDeaf: false,
        selfMute: false,
        daveEncryption: false,
        adapterCreator: (methods) => {
          const off = bus.subscribe((e) => {
            if (e.guildId !== guildId) return;
            if (e.t === 'VOICE_STATE_UPDATE' && (e.d as { user_id: string }).user_id === user.userId)
              methods.onVoiceStateUpdate(e.d as never);
            if (e.t === 'VOICE_SERVER_UPDATE' && e.userIds?.includes(user.userId))
              methods.onVoiceServerUpdate(e.d as never);
          });
          return {
            sendPayload(p: { d: never }) {
              bridge.voiceStateUpdate(user, p.d).catch((err: unknown) => errors.push(err));
              return true;
            },
            destroy: off,
          };
        },
      });
      connection.on('error', () => {});
      connections.push(connection);
      return connection;
    },
    async killVoice(i) {
      alive.delete(gws[i]);
      await attached[i].announceGone();
      attached[i].detach();
      await gws[i].close();
    },
    async counter(name, labels) {
      const m = await registry.getSingleMetric(name)!.get();
      return m.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
    },
    async close() {
      for (const c of connections) if (c.state.status !== VoiceConnectionStatus.Destroyed) c.destroy();
      await bridge.close();
      await fleet.close();
      for (const [i, gw] of gws.entries()) {
        if (!alive.has(gw)) continue;
        attached[i].detach();
        await gw.close();
      }
      for (const l of new Set([link, ...voiceLinks])) await l.close();
      if (placementRedis) {
        await dropPrefix(placementRedis, prefix);
        placementRedis.disconnect();
      }
      await guilds.close();
      await store.close();
    },
  };
}

/** Waits for a connection to reach Ready (through the bridge, the fleet and the voice server). */
export const ready = (c: VoiceConnection) => entersState(c, VoiceConnectionStatus.Ready, 10_000);
