import type { PresenceStatus } from '../guilds/guild-member-list.ts';
import type { GatewayConnection } from './connection.ts';
import { GatewayCloseError, Intent, type GatewayCommandHandlers } from './events.ts';
import { presenceJson } from './guild-payload.ts';
import type { GatewayHub } from './hub.ts';
import type { PresencePayload, RequestMembersPayload } from './opcodes.ts';
import type { GatewaySession } from './session.ts';

/** Records a member's status on its guild's actor (the member list); a no-op for guilds owned elsewhere. */
export type PresenceSink = (userId: string, guildId: string, status: PresenceStatus) => Promise<void>;

/** Members per GUILD_MEMBERS_CHUNK (Discord's cap). */
const CHUNK = 1000;
/** Prefix queries and user_ids answer at most this many members (Discord's cap). */
const QUERY_CAP = 100;

/** Client commands after READY: op 3 presence, op 4 (delegated to the voice bridge), op 8 member requests. */
export class Commands {
  constructor(
    private readonly hub: GatewayHub,
    private readonly handlers: GatewayCommandHandlers | undefined,
    private readonly presenceSink: PresenceSink | undefined,
  ) {}

  /** op 3 (and Identify's presence): the guild actors learn the status, every member session gets PRESENCE_UPDATE. */
  async presence(session: GatewaySession, d: PresencePayload): Promise<void> {
    session.presence = d;
    const status: PresenceStatus = d.status === 'invisible' ? 'offline' : d.status;
    await this.announce(session, status, d.activities);
  }

  /** The user's last session here ended: tell its guilds it went offline. */
  async offline(session: GatewaySession): Promise<void> {
    await this.announce(session, 'offline', []).catch(() => {});
  }

  async voiceState(
    conn: GatewayConnection,
    session: GatewaySession,
    d: { guild_id: string; channel_id: string | null; self_mute: boolean; self_deaf: boolean },
  ): Promise<void> {
    const handler = this.handlers?.voiceStateUpdate;
    if (!handler) {
      this.hub.log.warn('op4:unhandled', { remote: conn.remote }, 'op 4 ignored: no voice bridge on this node');
      return;
    }
    if (!session.guildIds.has(d.guild_id)) {
      this.hub.log.warn('op4:guild', { guild: d.guild_id }, 'op 4 for a guild the session is not in; ignored');
      return;
    }
    try {
      await handler({ userId: session.userId, sessionId: session.sessionId }, d);
    } catch (err) {
      if (err instanceof GatewayCloseError) return conn.reject(err.code, err.message);
      throw err;
    }
  }

  /** op 8 → GUILD_MEMBERS_CHUNK dispatches (≤ 1000 members each) to the asking session only. */
  async requestMembers(session: GatewaySession, d: RequestMembersPayload): Promise<void> {
    if (!session.guildIds.has(d.guild_id)) return;
    const userIds = d.user_ids === undefined ? undefined : Array.isArray(d.user_ids) ? d.user_ids : [d.user_ids];
    const whole = userIds === undefined && !d.query && d.limit === 0;
    const hasMembers = (session.intents & Intent.GUILD_MEMBERS) !== 0;
    // Without GUILD_MEMBERS the whole list is not given out; prefix queries are capped like Discord's.
    const limit = whole ? (hasMembers ? 0 : QUERY_CAP) : Math.min(d.limit || QUERY_CAP, QUERY_CAP);
    const { members, notFound } = await this.hub.opts.guilds.members(d.guild_id, {
      userIds: userIds?.slice(0, QUERY_CAP),
      query: d.query,
      limit,
    });
    const presences = d.presences && (session.intents & Intent.GUILD_PRESENCES) !== 0;
    const count = Math.max(1, Math.ceil(members.length / CHUNK));
    for (let i = 0; i < count; i++) {
      const slice = members.slice(i * CHUNK, (i + 1) * CHUNK);
      const chunk = {
        guild_id: d.guild_id,
        members: slice,
        chunk_index: i,
        chunk_count: count,
        ...(i === 0 && notFound.length ? { not_found: notFound } : {}),
        ...(presences ? { presences: [] } : {}),
        ...(d.nonce !== undefined ? { nonce: d.nonce } : {}),
      };
      session.deliver('GUILD_MEMBERS_CHUNK', JSON.stringify(chunk), {});
      this.hub.opts.metrics.dispatches.inc({ t: 'GUILD_MEMBERS_CHUNK' });
    }
  }

  /**
   * The session's own user joined or left a guild: it starts (GUILD_CREATE) or stops (GUILD_DELETE) receiving that
   * guild's events, as Discord does for a bot added to or removed from a server.
   */
  membershipChanged(t: 'GUILD_MEMBER_ADD' | 'GUILD_MEMBER_REMOVE', guildId: string, d: unknown): void {
    const userId = (d as { user?: { id?: string } }).user?.id;
    if (!userId) return;
    for (const s of [...this.hub.sessionsOf(userId)]) {
      if (t === 'GUILD_MEMBER_REMOVE') {
        if (!s.guildIds.has(guildId)) continue;
        this.hub.leaveGuild(s, guildId);
        s.deliver('GUILD_DELETE', JSON.stringify({ id: guildId }), {});
        continue;
      }
      if (s.guildIds.has(guildId)) continue;
      this.hub.joinGuild(s, guildId);
      void this.hub.opts.guilds
        .guildCreate(guildId, {
          userId,
          largeThreshold: s.largeThreshold,
          presences: (s.intents & Intent.GUILD_PRESENCES) !== 0,
        })
        .then((c) => c && s.deliver('GUILD_CREATE', JSON.stringify(c), {}))
        .catch((err: Error) => this.hub.log.warn('guild-create', { err: err.message }, 'GUILD_CREATE failed'));
    }
  }

  private async announce(session: GatewaySession, status: PresenceStatus, activities: unknown[]): Promise<void> {
    for (const guildId of session.guildIds) {
      await this.presenceSink?.(session.userId, guildId, status);
      await this.hub.opts.bus.publish({
        t: 'PRESENCE_UPDATE',
        d: { ...presenceJson(session.userId, status, guildId), activities },
        guildId,
        intent: Intent.GUILD_PRESENCES,
        sheddable: true,
      });
    }
  }
}
