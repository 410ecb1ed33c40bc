import type { FastifyRequest } from 'fastify';
import { GuildActor, UnknownGuildError } from '../guilds/guild-actor.ts';
import type { DispatchBus, GatewayDispatch } from '../gateway/events.ts';
import type { GuildHost } from '../guilds/guild-host.ts';
import type { Storage, StoredChannel, StoredUser } from '../storage/types.ts';
import type { AttachmentUploader } from './attachments.ts';
import { ApiError } from './errors.ts';

/** Where acks go: the read-state cache when wired, else straight to storage. */
export interface ReadStateSink {
  ack(userId: string, channelId: string, messageId: string): Promise<void>;
}

/** What every route handler reaches: storage, the guild actors, and the per-request bot user. */
export interface RestContext {
  storage: Storage;
  guilds: GuildHost;
  uploader?: AttachmentUploader;
  readStates: ReadStateSink;
  /** Dispatches for gateway sessions (MESSAGE_*, TYPING_START, CHANNEL_CREATE…). */
  bus: DispatchBus;
  gatewayUrl: string;
  /** What GET /gateway/bot reports besides the URL. */
  gateway: { shards: number; maxConcurrency: number; sessionStartLimit: number };
  maxUploadBytes: number;
  newId(): string;
}

declare module 'fastify' {
  interface FastifyRequest {
    bot: StoredUser | null;
  }
}

/**
 * Hands a dispatch to the bus. The REST answer does not depend on it (the write is already durable), so a bus
 * failure is logged by the caller's logger, not turned into an error response.
 */
export async function publish(ctx: RestContext, req: FastifyRequest, event: GatewayDispatch): Promise<void> {
  try {
    await ctx.bus.publish(event);
  } catch (err) {
    req.log.warn({ t: event.t, err: (err as Error).message }, 'dispatch not published');
  }
}

export function botOf(req: FastifyRequest): StoredUser {
  if (!req.bot) throw new ApiError('UNAUTHORIZED');
  return req.bot;
}

/**
 * The guild actor when this node owns the guild; otherwise null and callers read storage (a non-owner never writes
 * guild state).
 */
function localActor(ctx: RestContext, guildId: string): GuildActor | null {
  return ctx.guilds.owns(guildId) ? ctx.guilds.actor(guildId) : null;
}

/** Runs on the guild actor, mapping an unknown guild to 10004 and dropping the actor it would have left behind. */
export async function onGuild<R>(
  ctx: RestContext,
  guildId: string,
  fn: (a: GuildActor) => Promise<R>,
): Promise<R | null> {
  const actor = localActor(ctx, guildId);
  if (!actor) return null;
  try {
    return await fn(actor);
  } catch (err) {
    if (err instanceof UnknownGuildError) {
      ctx.guilds.forget(guildId, err);
      throw new ApiError('UNKNOWN_GUILD');
    }
    throw err;
  }
}

export async function isMember(ctx: RestContext, guildId: string, userId: string): Promise<boolean> {
  const local = await onGuild(ctx, guildId, (a) => a.run((s) => s.members.has(userId)));
  return local ?? (await ctx.storage.getMember(guildId, userId)) !== null;
}

/** A guild the bot is in: 10004 when unknown, 50001 when the bot is not a member. */
export async function requireGuild(ctx: RestContext, guildId: string, userId: string): Promise<void> {
  const local = await onGuild(ctx, guildId, (a) => a.run((s) => s.members.has(userId)));
  if (local === null) {
    if (!(await ctx.storage.getGuild(guildId))) throw new ApiError('UNKNOWN_GUILD');
    if (!(await ctx.storage.getMember(guildId, userId))) throw new ApiError('MISSING_ACCESS');
  } else if (!local) throw new ApiError('MISSING_ACCESS');
}

/** A channel the bot can see: 10003 when unknown, 50001 when it belongs to a guild the bot is not in. */
export async function requireChannel(ctx: RestContext, channelId: string, userId: string): Promise<StoredChannel> {
  const channel = await ctx.storage.getChannel(channelId);
  if (!channel) throw new ApiError('UNKNOWN_CHANNEL');
  if (!(await isMember(ctx, channel.guildId, userId))) throw new ApiError('MISSING_ACCESS');
  return channel;
}
