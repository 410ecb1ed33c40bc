import type { GatewayDispatch } from '../gateway/events.ts';
import type { PushNotification } from './types.ts';

const PREVIEW_CHARS = 100;
/** `<@id>` / `<@!id>` user mentions in message text (Discord's markup). */
const USER_MENTION = /<@!?(\d{17,20})>/g;

interface MessageLike {
  id?: unknown;
  channel_id?: unknown;
  guild_id?: unknown;
  content?: unknown;
  author?: { id?: unknown; bot?: unknown };
  mentions?: { id?: unknown }[];
}

/**
 * The notifications a MESSAGE_CREATE asks for: one per mentioned user other than the author (before the presence
 * check). Anything not shaped like a message yields none — push is best effort and never throws into the bus.
 */
export function mentionNotifications(event: GatewayDispatch, now = Date.now()): PushNotification[] {
  if (event.t !== 'MESSAGE_CREATE' || typeof event.d !== 'object' || event.d === null) return [];
  const m = event.d as MessageLike;
  const authorId = typeof m.author?.id === 'string' ? m.author.id : '';
  if (typeof m.id !== 'string' || typeof m.channel_id !== 'string' || !Array.isArray(m.mentions)) return [];
  const users = new Set<string>();
  for (const u of m.mentions) if (typeof u?.id === 'string' && u.id !== authorId) users.add(u.id);
  // The REST layer does not fill `mentions` yet, so the markup in the text counts too.
  const content = typeof m.content === 'string' ? m.content : '';
  for (const [, id] of content.matchAll(USER_MENTION)) if (id !== authorId) users.add(id);
  const preview = content.slice(0, PREVIEW_CHARS);
  return [...users].map((user_id) => ({
    user_id,
    guild_id: typeof m.guild_id === 'string' ? m.guild_id : event.guildId,
    channel_id: m.channel_id as string,
    message_id: m.id as string,
    author_id: authorId,
    preview,
    at: now,
  }));
}
