import type { Logger } from 'pino';
import { RateLimitedLog } from '../../common/logger.ts';
import type { Registry } from '../../common/metrics.ts';
import { isSnowflake } from '../../common/snowflake.ts';
import {
  GatewayCloseError,
  Intent,
  type DispatchBus,
  type GatewayCommandHandlers,
  type GatewayDispatch,
} from '../gateway/events.ts';
import type { GuildHost } from '../guilds/guild-host.ts';
import { voiceStateJson } from '../rest/serialize.ts';
import type { EntityStore, Snowflake, StoredVoiceState } from '../storage/types.ts';
import type { VoiceBridgeConfig } from './config.ts';
import type { VoiceFleet, VoiceFleetEvent } from './fleet.ts';
import { GuildVoiceAccess } from './guild-access.ts';
import { createVoiceBridgeMetrics, type VoiceBridgeMetrics } from './metrics.ts';
import { Op4Limiter } from './op4-limit.ts';

/** Discord channel types a voice state may point at: GUILD_VOICE (2) and GUILD_STAGE_VOICE (13). */
const VOICE_CHANNEL_TYPES = new Set([2, 13]);
/** Gateway close codes (gateway-protocol §1). */
const DECODE_ERROR = 4002;
const RATE_LIMITED = 4008;
/** Voice close codes the bridge sends through the fleet, and the ones that do not mean "the user left voice". */
const VOICE_DISCONNECTED = 4014;
const VOICE_SESSION_INVALID = 4006;
const VOICE_SERVER_CRASHED = 4015;

export interface VoiceBridgeOptions {
  guilds: GuildHost;
  store: EntityStore;
  bus: DispatchBus;
  fleet: VoiceFleet;
  logger: Logger;
  registry: Registry;
  config: VoiceBridgeConfig;
}

/** The voice connection this node handed a user (one per guild and user, as in Discord). */
interface Handout {
  channelId: Snowflake;
  sessionId: string;
  endpoint: string | null;
  tokenId: string;
  selfMute: boolean;
  selfDeaf: boolean;
  /** The voice server reported the session admitted with `tokenId` ended (a rejoin needs a new token). */
  ended: boolean;
}

type Op4 = Parameters<NonNullable<GatewayCommandHandlers['voiceStateUpdate']>>[1];

/**
 * op 4 Voice State Update → the guild's voice state (recorded by its actor, broadcast as VOICE_STATE_UPDATE) and a
 * voice server (VOICE_SERVER_UPDATE with a fresh single-use token to that user only). Voice-server news flows back:
 * a session that ended for good (kicked, timed out, the client left) clears the gateway voice state; a server that
 * went away has its users re-placed and sent a new endpoint. Work for one (guild, user) runs in arrival order.
 */
export class VoiceBridge implements GatewayCommandHandlers {
  readonly metrics: VoiceBridgeMetrics;
  private readonly access: GuildVoiceAccess;
  private readonly handouts = new Map<string, Handout>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly limiter: Op4Limiter;
  private readonly badLog: RateLimitedLog;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: VoiceBridgeOptions) {
    this.metrics = createVoiceBridgeMetrics(opts.registry);
    this.access = new GuildVoiceAccess(opts.guilds, opts.store);
    this.limiter = new Op4Limiter(opts.config.op4Burst, opts.config.op4RefillMs);
    this.badLog = new RateLimitedLog(opts.logger);
    this.unsubscribe = opts.fleet.subscribe((e) => this.onFleetEvent(e));
  }

  /** The voice connections this node handed out, for tests and /healthz-style views. */
  handout(guildId: Snowflake, userId: Snowflake): Readonly<Handout> | undefined {
    return this.handouts.get(`${guildId}:${userId}`);
  }

  voiceStateUpdate = async (session: { userId: Snowflake; sessionId: string }, raw: Op4): Promise<void> => {
    const d = parseOp4(raw);
    if (typeof d === 'string')
      return this.refuse('malformed', session, DECODE_ERROR, `invalid Voice State Update: ${d}`);
    if (!this.limiter.take(session.sessionId))
      return this.refuse('flood', session, RATE_LIMITED, 'too many Voice State Updates; slow down');
    await this.serial(d.guild_id, session.userId, () => this.apply(session, d));
  };

  /**
   * A gateway session ended for good: its voice states end too (as when a Discord bot disconnects), broadcast as
   * VOICE_STATE_UPDATE channel null, and the voice sessions handed out through it are released.
   */
  sessionEnded = (session: { userId: Snowflake; sessionId: string; guildIds: Iterable<Snowflake> }): void => {
    this.limiter.forget(session.sessionId);
    for (const guildId of session.guildIds) {
      void this.serial(guildId, session.userId, async () => {
        const key = `${guildId}:${session.userId}`;
        const h = this.handouts.get(key);
        if (h?.sessionId === session.sessionId) {
          this.handouts.delete(key);
          void this.release(guildId, session.userId, h.tokenId, VOICE_DISCONNECTED, 'gateway session ended');
        }
        const view = await this.access.view(guildId, session.userId, null);
        const cur = view?.current;
        if (!cur || cur.sessionId !== session.sessionId) return;
        const onlyIf = { channelId: cur.channelId, sessionId: session.sessionId };
        if (!(await this.access.set(guildId, session.userId, null, onlyIf))) return;
        await this.publishState(guildId, session.userId, null, session.sessionId, {
          self_mute: cur.selfMute,
          self_deaf: cur.selfDeaf,
        });
        this.metrics.updates.inc({ result: 'session_ended' });
      }).catch((err: unknown) => this.opts.logger.error({ err, guildId }, 'voice state clean-up failed'));
    }
  };

  async close(): Promise<void> {
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.queues.values()]);
  }

  private async apply(session: { userId: Snowflake; sessionId: string }, d: Op4): Promise<void> {
    const { userId } = session;
    const guildId = d.guild_id;
    const view = await this.access.view(guildId, userId, d.channel_id);
    if (!view?.member) return this.ignore('not_member', session, guildId, `not a member of guild ${guildId}`);
    const key = `${guildId}:${userId}`;
    const prev = this.handouts.get(key);
    if (d.channel_id === null) {
      if (view.current) {
        await this.access.set(guildId, userId, null);
        await this.publishState(guildId, userId, null, view.current.sessionId, d);
      }
      this.handouts.delete(key);
      if (prev) void this.release(guildId, userId, prev.tokenId, VOICE_DISCONNECTED, 'left the voice channel');
      this.metrics.updates.inc({ result: 'leave' });
      return;
    }
    if (!view.channel || !VOICE_CHANNEL_TYPES.has(view.channel.type))
      return this.ignore('not_voice_channel', session, guildId, `channel ${d.channel_id} is not a voice channel here`);
    const state: Omit<StoredVoiceState, 'guildId' | 'userId'> = {
      channelId: d.channel_id,
      sessionId: session.sessionId,
      selfMute: d.self_mute,
      selfDeaf: d.self_deaf,
      mute: view.current?.mute ?? false,
      deaf: view.current?.deaf ?? false,
    };
    await this.access.set(guildId, userId, state);
    await this.publishState(guildId, userId, state, session.sessionId, d);
    const sameChannel = prev !== undefined && prev.channelId === d.channel_id && prev.sessionId === session.sessionId;
    // Same channel, live voice session, only the self flags changed: a mute/deafen toggle, no new voice server.
    // Same flags again is how @discordjs/voice asks to rejoin after a voice close, so it gets a fresh token.
    const flagsChanged = prev !== undefined && (prev.selfMute !== d.self_mute || prev.selfDeaf !== d.self_deaf);
    if (sameChannel && !prev.ended && flagsChanged) {
      prev.selfMute = d.self_mute;
      prev.selfDeaf = d.self_deaf;
      this.metrics.updates.inc({ result: 'update' });
      return;
    }
    await this.sendServer(guildId, userId, session.sessionId, d.channel_id, d, 'join');
    // A handout from another (older) gateway session of the user counts as a fresh join, not a move.
    const fresh = !prev || prev.sessionId !== session.sessionId;
    this.metrics.updates.inc({ result: fresh ? 'join' : sameChannel ? 'rejoin' : 'move' });
    if (prev && !sameChannel) {
      // The client drops its old voice connection when it gets the new server; one that did not is ended later.
      const t = setTimeout(() => {
        this.timers.delete(t);
        void this.release(guildId, userId, prev.tokenId, VOICE_SESSION_INVALID, 'moved to another voice channel');
      }, this.opts.config.moveGraceMs);
      t.unref();
      this.timers.add(t);
    }
  }

  /** Places (guild, channel), records the hand-out and sends VOICE_SERVER_UPDATE to `userId` only. */
  private async sendServer(
    guildId: Snowflake,
    userId: Snowflake,
    sessionId: string,
    channelId: Snowflake,
    flags: { self_mute: boolean; self_deaf: boolean },
    cause: 'join' | 'server_gone',
  ): Promise<void> {
    let ticket: { endpoint: string | null; token: string; tokenId: string };
    try {
      ticket = await this.opts.fleet.join({ guildId, channelId, userId, sessionId });
    } catch (err) {
      // No placement answer (Redis down): Discord's "server going away" until a later op 4 finds one.
      this.opts.logger.warn({ err: (err as Error).message, guildId }, 'voice placement failed');
      ticket = { endpoint: null, token: '', tokenId: '' };
    }
    this.handouts.set(`${guildId}:${userId}`, {
      channelId,
      sessionId,
      endpoint: ticket.endpoint,
      tokenId: ticket.tokenId,
      selfMute: flags.self_mute,
      selfDeaf: flags.self_deaf,
      ended: false,
    });
    this.metrics.serverUpdates.inc({ cause, endpoint: ticket.endpoint ? 'live' : 'none' });
    await this.publish({
      t: 'VOICE_SERVER_UPDATE',
      d: { token: ticket.token, guild_id: guildId, endpoint: ticket.endpoint },
      guildId,
      intent: 0,
      userIds: [userId],
    });
  }

  private onFleetEvent(e: VoiceFleetEvent): void {
    if (e.kind === 'server-gone') {
      for (const [key, h] of this.handouts) {
        if (h.endpoint !== e.endpoint) continue;
        const [guildId, userId] = key.split(':');
        void this.serial(guildId, userId, async () => {
          const cur = this.handouts.get(key);
          if (cur !== h) return; // a newer op 4 already moved them
          await this.sendServer(guildId, userId, h.sessionId, h.channelId, flagsOf(h), 'server_gone');
        }).catch((err: unknown) => this.opts.logger.error({ err, guildId }, 'voice re-placement failed'));
      }
      return;
    }
    const key = `${e.guildId}:${e.userId}`;
    void this.serial(e.guildId, e.userId, async () => {
      const h = this.handouts.get(key);
      if (!h || h.tokenId !== e.tokenId) return void this.metrics.voiceSessionsEnded.inc({ effect: 'stale' });
      h.ended = true;
      // Replaced (4006: the client rejoins with op 4) or the server is going away (4015: re-placed): still in voice.
      if (e.code === VOICE_SESSION_INVALID || e.code === VOICE_SERVER_CRASHED)
        return void this.metrics.voiceSessionsEnded.inc({ effect: 'kept' });
      this.handouts.delete(key);
      const cleared = await this.access.set(e.guildId, e.userId, null, {
        channelId: h.channelId,
        sessionId: h.sessionId,
      });
      if (cleared) await this.publishState(e.guildId, e.userId, null, h.sessionId, flagsOf(h));
      this.metrics.voiceSessionsEnded.inc({ effect: cleared ? 'cleared' : 'stale' });
    }).catch((err: unknown) => this.opts.logger.error({ err, guildId: e.guildId }, 'voice session end failed'));
  }

  private async publishState(
    guildId: Snowflake,
    userId: Snowflake,
    state: Omit<StoredVoiceState, 'guildId' | 'userId'> | null,
    sessionId: string,
    flags: { self_mute: boolean; self_deaf: boolean },
  ): Promise<void> {
    const [member, user] = await Promise.all([
      this.opts.store.getMember(guildId, userId),
      this.opts.store.getUser(userId),
    ]);
    const v = {
      guildId,
      userId,
      channelId: state?.channelId ?? null,
      sessionId,
      mute: state?.mute ?? false,
      deaf: state?.deaf ?? false,
      selfMute: state?.selfMute ?? flags.self_mute,
      selfDeaf: state?.selfDeaf ?? flags.self_deaf,
    };
    await this.publish({
      t: 'VOICE_STATE_UPDATE',
      d: voiceStateJson(v, member, user),
      guildId,
      intent: Intent.GUILD_VOICE_STATES,
    });
  }

  private async publish(event: GatewayDispatch): Promise<void> {
    await this.opts.bus.publish(event);
  }

  private async release(guildId: Snowflake, userId: Snowflake, tokenId: string, code: number, reason: string) {
    if (!tokenId) return;
    await this.opts.fleet
      .release({ guildId, userId, tokenId, code, reason })
      .catch((err: Error) => this.opts.logger.warn({ err: err.message, guildId }, 'voice release failed'));
  }

  /** Runs `fn` after every earlier piece of work for the same (guild, user). */
  private serial<R>(guildId: Snowflake, userId: Snowflake, fn: () => Promise<R>): Promise<R> {
    const key = `${guildId}:${userId}`;
    const next = (this.queues.get(key) ?? Promise.resolve()).then(fn);
    const tail = next.catch(() => {});
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }

  private refuse(reason: string, s: { userId: Snowflake; sessionId: string }, code: number, msg: string): never {
    this.metrics.rejected.inc({ reason });
    this.badLog.warn(`op4:${reason}`, { reason, userId: s.userId, code }, msg);
    throw new GatewayCloseError(code, msg);
  }

  /** Discord ignores an op 4 it cannot apply (no dispatch, no close); so do we, counted and logged rate-limited. */
  private ignore(reason: string, s: { userId: Snowflake }, guildId: Snowflake, msg: string): void {
    this.metrics.rejected.inc({ reason });
    this.badLog.warn(`op4:${reason}`, { reason, userId: s.userId, guildId }, `op 4 ignored: ${msg}`);
  }
}

const flagsOf = (h: Handout) => ({ self_mute: h.selfMute, self_deaf: h.selfDeaf });

/** op 4's `d`, checked field by field (the session layer hands it over as parsed JSON). */
function parseOp4(raw: unknown): Op4 | string {
  if (typeof raw !== 'object' || raw === null) return 'd must be an object';
  const r = raw as Record<string, unknown>;
  if (!isSnowflake(r.guild_id)) return 'guild_id must be a snowflake string';
  if (r.channel_id !== null && !isSnowflake(r.channel_id)) return 'channel_id must be a snowflake string or null';
  for (const f of ['self_mute', 'self_deaf'] as const)
    if (r[f] !== undefined && typeof r[f] !== 'boolean') return `${f} must be a boolean`;
  return {
    guild_id: r.guild_id,
    channel_id: r.channel_id,
    self_mute: r.self_mute === true,
    self_deaf: r.self_deaf === true,
  };
}
