import { parseSnowflake } from '../../common/snowflake.ts';
import type {
  StoredAttachment,
  StoredChannel,
  StoredGuild,
  StoredMember,
  StoredMessage,
  StoredRole,
  StoredUser,
  StoredVoiceState,
} from '../storage/types.ts';

/** Stored rows → Discord v10 JSON objects (snake_case, ids as strings, ISO timestamps). */
export function userJson(u: StoredUser) {
  return {
    id: u.id,
    username: u.username,
    global_name: u.globalName,
    avatar: u.avatar,
    discriminator: '0',
    public_flags: 0,
    flags: 0,
    bot: u.bot,
  };
}

/** Discord's attachment flag IS_ANIMATED (1 << 5). */
const IS_ANIMATED = 1 << 5;

export function attachmentJson(a: StoredAttachment) {
  return {
    id: a.id,
    filename: a.filename,
    ...(a.description ? { description: a.description } : {}),
    size: a.size,
    url: a.url,
    proxy_url: a.proxyUrl,
    content_type: a.contentType ?? undefined,
    width: a.width,
    height: a.height,
    flags: a.animated ? IS_ANIMATED : 0,
    ...(a.placeholder ? { placeholder: a.placeholder, placeholder_version: a.placeholderVersion ?? 1 } : {}),
  };
}

export function messageJson(m: StoredMessage, author: StoredUser | null, nonce?: string | number) {
  return {
    id: m.id,
    type: m.type,
    channel_id: m.channelId,
    ...(m.guildId ? { guild_id: m.guildId } : {}),
    author: author ? userJson(author) : { id: m.authorId, username: 'Deleted User', discriminator: '0', avatar: null },
    content: m.content,
    timestamp: new Date(parseSnowflake(m.id).timestamp).toISOString(),
    edited_timestamp: m.editedAt === null ? null : new Date(m.editedAt).toISOString(),
    tts: m.tts,
    mention_everyone: m.mentionEveryone,
    mentions: [],
    mention_roles: m.mentionRoleIds,
    attachments: m.attachments.map(attachmentJson),
    embeds: m.embeds,
    pinned: m.pinned,
    flags: m.flags,
    components: m.components ?? [],
    ...(m.reference ? { message_reference: m.reference } : {}),
    // Interaction responses: sent through the application's webhook, with Discord's interaction_metadata.
    ...(m.applicationId ? { application_id: m.applicationId, webhook_id: m.applicationId } : {}),
    ...(m.interactionMetadata ? { interaction_metadata: m.interactionMetadata } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
  };
}

export function channelJson(c: StoredChannel) {
  return {
    id: c.id,
    type: c.type,
    guild_id: c.guildId,
    name: c.name,
    position: c.position,
    parent_id: c.parentId,
    permission_overwrites: [],
    ...(c.type === 0 ? { topic: c.topic, nsfw: false, rate_limit_per_user: 0, last_message_id: null } : {}),
    ...(c.type === 2 ? { bitrate: c.bitrate ?? 64000, user_limit: c.userLimit ?? 0, rtc_region: null } : {}),
    flags: 0,
  };
}

export function roleJson(r: StoredRole) {
  return {
    id: r.id,
    name: r.name,
    permissions: r.permissions,
    position: r.position,
    color: r.color,
    hoist: r.hoist,
    managed: false,
    mentionable: r.mentionable,
    flags: 0,
  };
}

export function guildJson(g: StoredGuild, roles: StoredRole[]) {
  return {
    id: g.id,
    name: g.name,
    icon: g.icon,
    owner_id: g.ownerId,
    roles: roles.map(roleJson),
    emojis: [],
    stickers: [],
    features: [],
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    premium_tier: 0,
    preferred_locale: 'en-US',
    system_channel_id: null,
    afk_channel_id: null,
    afk_timeout: 300,
  };
}

export function memberJson(m: StoredMember, user: StoredUser | null) {
  return {
    ...(user ? { user: userJson(user) } : {}),
    nick: m.nick,
    roles: m.roleIds,
    joined_at: new Date(m.joinedAt).toISOString(),
    deaf: false,
    mute: false,
    flags: 0,
  };
}

/** A voice state (REST GET …/voice-states/…, VOICE_STATE_UPDATE); `channelId` null = left voice. */
export function voiceStateJson(
  v: Omit<StoredVoiceState, 'channelId'> & { channelId: string | null },
  member: StoredMember | null,
  user: StoredUser | null,
) {
  return {
    guild_id: v.guildId,
    channel_id: v.channelId,
    user_id: v.userId,
    ...(member ? { member: memberJson(member, user) } : {}),
    session_id: v.sessionId,
    deaf: v.deaf,
    mute: v.mute,
    self_deaf: v.selfDeaf,
    self_mute: v.selfMute,
    self_stream: false,
    self_video: false,
    suppress: false,
    request_to_speak_timestamp: null,
  };
}
