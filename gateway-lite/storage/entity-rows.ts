/** Row → object mappings for entities, shared by both backends (SQLite integers/0-1 flags, pg strings/booleans). */
import type {
  ChannelType,
  JsonValue,
  ReadState,
  Snowflake,
  StoredChannel,
  StoredGuild,
  StoredMember,
  StoredRole,
  StoredUser,
  StoredVoiceState,
} from './types.ts';
import { idToBigInt } from './buckets.ts';
import { idString, optionalNumber, type IntCell } from './rows.ts';

type Cell = IntCell | boolean | JsonValue[] | null;
export type Row = Record<string, Cell>;

export const str = (v: Cell): string | null => (v === null ? null : String(v));
export const id = (v: Cell): string => idString(v as IntCell);
export const num = (v: Cell): number => Number(v);
export const optId = (v: Snowflake | null): bigint | null => (v === null ? null : idToBigInt(v));

export function toUser(r: Row): StoredUser {
  return {
    id: id(r.id),
    username: String(r.username),
    globalName: str(r.global_name),
    avatar: str(r.avatar),
    bot: num(r.bot) === 1,
    tokenHash: str(r.token_hash),
  };
}
export function toGuild(r: Row): StoredGuild {
  return { id: id(r.id), name: String(r.name), ownerId: id(r.owner_id), icon: str(r.icon) };
}
export function toChannel(r: Row): StoredChannel {
  return {
    id: id(r.id),
    guildId: id(r.guild_id),
    type: num(r.type) as ChannelType,
    name: String(r.name),
    position: num(r.position),
    topic: str(r.topic),
    parentId: r.parent_id === null ? null : id(r.parent_id),
    bitrate: optionalNumber(r.bitrate as IntCell | null),
    userLimit: optionalNumber(r.user_limit as IntCell | null),
  };
}
export function toMember(r: Row): StoredMember {
  return {
    guildId: id(r.guild_id),
    userId: id(r.user_id),
    nick: str(r.nick),
    roleIds: (typeof r.role_ids === 'string' ? JSON.parse(r.role_ids) : r.role_ids) as string[],
    joinedAt: num(r.joined_at),
  };
}
export function toRole(r: Row): StoredRole {
  return {
    id: id(r.id),
    guildId: id(r.guild_id),
    name: String(r.name),
    permissions: String(r.permissions),
    position: num(r.position),
    color: num(r.color),
    hoist: num(r.hoist) === 1,
    mentionable: num(r.mentionable) === 1,
  };
}
export function toVoiceState(r: Row): StoredVoiceState {
  return {
    guildId: id(r.guild_id),
    userId: id(r.user_id),
    channelId: id(r.channel_id),
    sessionId: String(r.session_id),
    selfMute: num(r.self_mute) === 1,
    selfDeaf: num(r.self_deaf) === 1,
    mute: num(r.mute) === 1,
    deaf: num(r.deaf) === 1,
  };
}
export function toReadState(r: Row): ReadState {
  return {
    userId: id(r.user_id),
    channelId: id(r.channel_id),
    lastMessageId: id(r.last_message_id),
    mentionCount: num(r.mention_count),
  };
}
