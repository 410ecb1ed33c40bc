import { loadGuildState, UnknownGuildError } from '../guilds/guild-actor.ts';
import type { GuildHost } from '../guilds/guild-host.ts';
import type { PresenceStatus } from '../guilds/guild-member-list.ts';
import { channelJson, guildJson, memberJson } from '../rest/serialize.ts';
import type {
  EntityStore,
  Snowflake,
  StoredChannel,
  StoredGuild,
  StoredMember,
  StoredRole,
  StoredUser,
  StoredVoiceState,
} from '../storage/types.ts';

/** What the gateway reads about guilds: READY's guild list, GUILD_CREATE, and members for op 8. */
export interface GuildSource {
  guildIdsOf(userId: Snowflake): Promise<Snowflake[]>;
  /** The GUILD_CREATE `d` as `viewer` sees it, or null when the guild is gone. */
  guildCreate(
    guildId: Snowflake,
    viewer: { userId: Snowflake; largeThreshold: number; presences: boolean },
  ): Promise<Record<string, unknown> | null>;
  /** Members as member objects (with `user`) for GUILD_MEMBERS_CHUNK: by ids, or by username/nick prefix. */
  members(
    guildId: Snowflake,
    q: { userIds?: Snowflake[]; query?: string; limit: number },
  ): Promise<{ members: Array<Record<string, unknown>>; notFound: Snowflake[] }>;
}

interface GuildView {
  guild: StoredGuild;
  channels: StoredChannel[];
  members: StoredMember[];
  roles: StoredRole[];
  voiceStates: StoredVoiceState[];
  presences: Array<[Snowflake, PresenceStatus]>;
}

/** A voice state as GUILD_CREATE lists it (no guild_id) — VOICE_STATE_UPDATE adds guild_id and member. */
export function voiceStateJson(v: StoredVoiceState) {
  return {
    channel_id: v.channelId,
    user_id: v.userId,
    session_id: v.sessionId,
    deaf: v.deaf,
    mute: v.mute,
    self_deaf: v.selfDeaf,
    self_mute: v.selfMute,
    self_video: false,
    suppress: false,
    request_to_speak_timestamp: null,
  };
}

export function presenceJson(userId: Snowflake, status: PresenceStatus, guildId?: Snowflake) {
  return {
    user: { id: userId },
    ...(guildId ? { guild_id: guildId } : {}),
    status,
    activities: [],
    client_status: status === 'offline' ? {} : { web: status },
  };
}

/**
 * Reads guilds through their actor when this node owns them (the freshest state, and live presences), else straight
 * from storage (another node's actor owns the guild; presences are then unknown here).
 */
export class StorageGuildSource implements GuildSource {
  constructor(
    private readonly store: EntityStore,
    private readonly guilds: GuildHost,
  ) {}

  async guildIdsOf(userId: Snowflake): Promise<Snowflake[]> {
    return (await this.store.listGuildsForUser(userId)).map((g) => g.id);
  }

  async guildCreate(
    guildId: Snowflake,
    viewer: { userId: Snowflake; largeThreshold: number; presences: boolean },
  ): Promise<Record<string, unknown> | null> {
    const view = await this.view(guildId);
    if (!view) return null;
    const me = view.members.find((m) => m.userId === viewer.userId);
    const large = view.members.length > viewer.largeThreshold;
    // Large guilds (or no GUILD_PRESENCES): only the viewer and users in voice, as Discord sends them.
    const inVoice = new Set(view.voiceStates.map((v) => v.userId));
    const listed =
      large || !viewer.presences
        ? view.members.filter((m) => m.userId === viewer.userId || inVoice.has(m.userId))
        : view.members;
    const users = await this.users(listed.map((m) => m.userId));
    return {
      ...guildJson(view.guild, view.roles),
      joined_at: new Date(me?.joinedAt ?? Date.now()).toISOString(),
      large,
      unavailable: false,
      member_count: view.members.length,
      voice_states: view.voiceStates.map(voiceStateJson),
      members: listed.map((m) => memberJson(m, users.get(m.userId) ?? null)),
      channels: view.channels.map(channelJson),
      threads: [],
      presences: viewer.presences ? view.presences.map(([id, status]) => presenceJson(id, status)) : [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  async members(
    guildId: Snowflake,
    q: { userIds?: Snowflake[]; query?: string; limit: number },
  ): Promise<{ members: Array<Record<string, unknown>>; notFound: Snowflake[] }> {
    const view = await this.view(guildId);
    if (!view) return { members: [], notFound: q.userIds ?? [] };
    if (q.userIds) {
      const byId = new Map(view.members.map((m) => [m.userId, m]));
      const found = q.userIds.filter((id) => byId.has(id));
      const users = await this.users(found);
      return {
        members: found.map((id) => memberJson(byId.get(id)!, users.get(id) ?? null)),
        notFound: q.userIds.filter((id) => !byId.has(id)),
      };
    }
    const prefix = (q.query ?? '').toLowerCase();
    const users = await this.users(view.members.map((m) => m.userId));
    const matched = view.members.filter((m) => {
      if (!prefix) return true;
      const u = users.get(m.userId);
      return [u?.username, u?.globalName, m.nick].some((n) => n?.toLowerCase().startsWith(prefix));
    });
    const limited = q.limit > 0 ? matched.slice(0, q.limit) : matched;
    return { members: limited.map((m) => memberJson(m, users.get(m.userId) ?? null)), notFound: [] };
  }

  private async view(guildId: Snowflake): Promise<GuildView | null> {
    try {
      if (this.guilds.owns(guildId)) {
        const actor = this.guilds.actor(guildId);
        return await actor.run((s) => ({
          guild: s.guild,
          channels: sortByPosition([...s.channels.values()]),
          members: [...s.members.values()],
          roles: sortByPosition([...s.roles.values()]),
          voiceStates: [...s.voiceStates.values()],
          presences: actor.onlinePresences().filter(([id]) => s.members.has(id)),
        }));
      }
      const s = await loadGuildState(this.store, guildId);
      return {
        guild: s.guild,
        channels: sortByPosition([...s.channels.values()]),
        members: [...s.members.values()],
        roles: sortByPosition([...s.roles.values()]),
        voiceStates: [...s.voiceStates.values()],
        presences: [],
      };
    } catch (err) {
      if (err instanceof UnknownGuildError) {
        this.guilds.forget(guildId, err);
        return null;
      }
      throw err;
    }
  }

  private async users(ids: Snowflake[]): Promise<Map<Snowflake, StoredUser | null>> {
    const rows = await Promise.all(ids.map((id) => this.store.getUser(id)));
    return new Map(ids.map((id, i) => [id, rows[i]]));
  }
}

const sortByPosition = <T extends { position: number; id: string }>(xs: T[]): T[] =>
  xs.sort((a, b) => a.position - b.position || (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
