import type { StoredChannel, StoredMember, StoredUser } from '../storage/types.ts';
import { channelJson, memberJson } from '../rest/serialize.ts';
import { Intent, type GatewayDispatch } from './events.ts';

/**
 * Builders for the dispatches producers publish (REST routes, guild actor hooks): the Discord `d` shape plus the
 * routing facts (guild, intent, sheddable) — one place that knows which intent gates which event.
 */
const messageIntent = (guildId: string | null) => (guildId ? Intent.GUILD_MESSAGES : Intent.DIRECT_MESSAGES);

/** MESSAGE_CREATE / MESSAGE_UPDATE from a REST message JSON; `member` is the author's partial member (guilds). */
export function messageDispatch(
  t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE',
  message: Record<string, unknown> & { channel_id: string },
  guildId: string | null,
  member?: StoredMember | null,
): GatewayDispatch {
  const d: Record<string, unknown> = { ...message };
  if (guildId && member) {
    const { user: _user, ...partial } = memberJson(member, null);
    d.member = partial;
  }
  if (guildId) d.guild_id = guildId;
  return { t, d, guildId, intent: messageIntent(guildId) };
}

export function messageDeleteDispatch(id: string, channelId: string, guildId: string | null): GatewayDispatch {
  return {
    t: 'MESSAGE_DELETE',
    d: { id, channel_id: channelId, ...(guildId ? { guild_id: guildId } : {}) },
    guildId,
    intent: messageIntent(guildId),
  };
}

/** TYPING_START: `timestamp` in unix seconds, as Discord sends it; sheddable. */
export function typingDispatch(
  channelId: string,
  guildId: string | null,
  user: StoredUser,
  member?: StoredMember | null,
): GatewayDispatch {
  return {
    t: 'TYPING_START',
    d: {
      channel_id: channelId,
      ...(guildId ? { guild_id: guildId } : {}),
      user_id: user.id,
      timestamp: Math.floor(Date.now() / 1000),
      ...(guildId && member ? { member: memberJson(member, user) } : {}),
    },
    guildId,
    intent: guildId ? Intent.GUILD_MESSAGE_TYPING : Intent.DIRECT_MESSAGE_TYPING,
    sheddable: true,
  };
}

export function channelCreateDispatch(channel: StoredChannel): GatewayDispatch {
  return { t: 'CHANNEL_CREATE', d: channelJson(channel), guildId: channel.guildId, intent: Intent.GUILDS };
}

export function memberAddDispatch(member: StoredMember, user: StoredUser | null): GatewayDispatch {
  return {
    t: 'GUILD_MEMBER_ADD',
    d: { ...memberJson(member, user), guild_id: member.guildId },
    guildId: member.guildId,
    intent: Intent.GUILD_MEMBERS,
  };
}

export function memberRemoveDispatch(member: StoredMember, user: StoredUser | null): GatewayDispatch {
  const u = user
    ? memberJson(member, user).user
    : { id: member.userId, username: 'Deleted User', discriminator: '0', avatar: null };
  return {
    t: 'GUILD_MEMBER_REMOVE',
    d: { guild_id: member.guildId, user: u },
    guildId: member.guildId,
    intent: Intent.GUILD_MEMBERS,
  };
}
