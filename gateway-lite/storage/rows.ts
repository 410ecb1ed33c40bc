/**
 * Row ↔ object mapping shared by both backends. A message row keeps the columns queries filter or sort on as columns
 * (channel, bucket, id, author, guild, content, edited_at) and the rest in one JSON document, so adding a Discord
 * field never needs a migration of the partitioned table.
 */
import type { JsonObject, MessagePatch, NewMessage, StoredAttachment, StoredMessage } from './types.ts';

/** Integer columns arrive as bigint (better-sqlite3 safeIntegers), string (pg int8) or number. */
export type IntCell = bigint | string | number;

export interface MessageRow {
  channel_id: IntCell;
  message_id: IntCell;
  guild_id: IntCell | null;
  author_id: IntCell;
  content: string;
  edited_at: IntCell | null;
  data: string | MessageDoc;
}

/** The JSON part of a message row. */
export interface MessageDoc {
  type: number;
  flags: number;
  tts: boolean;
  pinned: boolean;
  mentionEveryone: boolean;
  mentionUserIds: string[];
  mentionRoleIds: string[];
  attachments: StoredAttachment[];
  embeds: JsonObject[];
  reference: JsonObject | null;
  components?: JsonObject[];
  interactionMetadata?: JsonObject | null;
  applicationId?: string | null;
}

export function idString(v: IntCell): string {
  return typeof v === 'string' ? v : v.toString();
}

export function optionalNumber(v: IntCell | null): number | null {
  return v === null ? null : Number(v);
}

/** Fill Discord's defaults into a new message. */
export function completeMessage(m: NewMessage): StoredMessage {
  return {
    id: m.id,
    channelId: m.channelId,
    guildId: m.guildId ?? null,
    authorId: m.authorId,
    content: m.content,
    type: m.type ?? 0,
    flags: m.flags ?? 0,
    tts: m.tts ?? false,
    pinned: m.pinned ?? false,
    mentionEveryone: m.mentionEveryone ?? false,
    mentionUserIds: m.mentionUserIds ?? [],
    mentionRoleIds: m.mentionRoleIds ?? [],
    attachments: m.attachments ?? [],
    embeds: m.embeds ?? [],
    reference: m.reference ?? null,
    editedAt: null,
    ...(m.components?.length ? { components: m.components } : {}),
    ...(m.interactionMetadata ? { interactionMetadata: m.interactionMetadata } : {}),
    ...(m.applicationId ? { applicationId: m.applicationId } : {}),
  };
}

export function messageDoc(m: StoredMessage): MessageDoc {
  return {
    type: m.type,
    flags: m.flags,
    tts: m.tts,
    pinned: m.pinned,
    mentionEveryone: m.mentionEveryone,
    mentionUserIds: m.mentionUserIds,
    mentionRoleIds: m.mentionRoleIds,
    attachments: m.attachments,
    embeds: m.embeds,
    reference: m.reference,
    // Interaction fields only when present, so plain messages keep their old document shape.
    ...(m.components?.length ? { components: m.components } : {}),
    ...(m.interactionMetadata ? { interactionMetadata: m.interactionMetadata } : {}),
    ...(m.applicationId ? { applicationId: m.applicationId } : {}),
  };
}

export function rowToMessage(row: MessageRow): StoredMessage {
  const doc: MessageDoc = typeof row.data === 'string' ? (JSON.parse(row.data) as MessageDoc) : row.data;
  return {
    id: idString(row.message_id),
    channelId: idString(row.channel_id),
    guildId: row.guild_id === null ? null : idString(row.guild_id),
    authorId: idString(row.author_id),
    content: row.content,
    editedAt: optionalNumber(row.edited_at),
    ...doc,
  };
}

export function applyPatch(m: StoredMessage, patch: MessagePatch): StoredMessage {
  const next = { ...m };
  if (patch.content !== undefined) next.content = patch.content;
  if (patch.flags !== undefined) next.flags = patch.flags;
  if (patch.pinned !== undefined) next.pinned = patch.pinned;
  if (patch.embeds !== undefined) next.embeds = patch.embeds;
  if (patch.attachments !== undefined) next.attachments = patch.attachments;
  if (patch.mentionUserIds !== undefined) next.mentionUserIds = patch.mentionUserIds;
  if (patch.editedAt !== undefined) next.editedAt = patch.editedAt;
  if (patch.components !== undefined) next.components = patch.components;
  return next;
}
