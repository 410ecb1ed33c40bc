import { UnknownGuildError } from '../guilds/guild-actor.ts';
import type { GuildHost } from '../guilds/guild-host.ts';
import type { EntityStore, Snowflake, StoredChannel, StoredMember, StoredVoiceState } from '../storage/types.ts';

/** What op 4 needs to know about a guild, read in one step. */
export interface VoiceView {
  member: StoredMember | null;
  /** The requested channel when it exists in this guild. */
  channel: StoredChannel | null;
  current: StoredVoiceState | null;
}

/**
 * Voice-state reads and writes for a guild: through its actor when this node owns the guild (the one writer), else
 * straight to storage followed by a "reload" notice to the owner, the way REST writes to guilds owned elsewhere.
 */
export class GuildVoiceAccess {
  constructor(
    private readonly guilds: GuildHost,
    private readonly store: EntityStore,
  ) {}

  /** null when the guild does not exist. */
  async view(guildId: Snowflake, userId: Snowflake, channelId: Snowflake | null): Promise<VoiceView | null> {
    if (this.guilds.owns(guildId)) {
      try {
        return await this.guilds.actor(guildId).run((s) => {
          const ch = channelId ? s.channels.get(channelId) : undefined;
          return {
            member: s.members.get(userId) ?? null,
            channel: ch ?? null,
            current: s.voiceStates.get(userId) ?? null,
          };
        });
      } catch (err) {
        if (!(err instanceof UnknownGuildError)) throw err;
        this.guilds.forget(guildId, err);
        return null;
      }
    }
    if (!(await this.store.getGuild(guildId))) return null;
    const [member, channel, states] = await Promise.all([
      this.store.getMember(guildId, userId),
      channelId ? this.store.getChannel(channelId) : Promise.resolve(null),
      this.store.listVoiceStates(guildId),
    ]);
    return {
      member,
      channel: channel && channel.guildId === guildId ? channel : null,
      current: states.find((v) => v.userId === userId) ?? null,
    };
  }

  /**
   * Sets (or with null clears) a user's voice state. `onlyIf` guards a clear that comes from a voice-server event:
   * it applies only while the state is still that channel and gateway session (a newer join wins).
   */
  async set(
    guildId: Snowflake,
    userId: Snowflake,
    next: Omit<StoredVoiceState, 'guildId' | 'userId'> | null,
    onlyIf?: { channelId: Snowflake; sessionId?: string },
  ): Promise<boolean> {
    const matches = (cur: StoredVoiceState | undefined) =>
      !onlyIf ||
      (cur !== undefined &&
        cur.channelId === onlyIf.channelId &&
        (onlyIf.sessionId === undefined || cur.sessionId === onlyIf.sessionId));
    if (this.guilds.owns(guildId)) {
      const actor = this.guilds.actor(guildId);
      if (onlyIf && !(await actor.run((s) => matches(s.voiceStates.get(userId))))) return false;
      // Between the check and the write nothing else runs on this guild's voice state but this bridge's own calls,
      // which are ordered per user by the caller.
      await actor.setVoiceState(userId, next);
      return true;
    }
    if (onlyIf) {
      const cur = (await this.store.listVoiceStates(guildId)).find((v) => v.userId === userId);
      if (!matches(cur)) return false;
    }
    if (next === null) await this.store.deleteVoiceState(guildId, userId);
    else await this.store.upsertVoiceState({ ...next, guildId, userId });
    await this.guilds.changedElsewhere(guildId);
    return true;
  }
}
