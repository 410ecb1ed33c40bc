import type { FastifyInstance } from 'fastify';
import type { StoredMessage, StoredUser } from '../storage/types.ts';
import { messageDeleteDispatch, messageDispatch, typingDispatch } from '../gateway/dispatches.ts';
import { botOf, publish, requireChannel, type RestContext } from './context.ts';
import { ApiError } from './errors.ts';
import { messageJson } from './serialize.ts';
import { readMessageRequest } from './uploads.ts';
import { ackBody, createMessageBody, editMessageBody, historyQuery, parse, snowflakeParams } from './validate.ts';

/** Messages: history (before/after/around/limit), get, create (JSON or multipart with files), edit, delete, typing, ack. */
export function registerMessageRoutes(app: FastifyInstance, ctx: RestContext): void {
  const authorOf = async (m: StoredMessage, bot: StoredUser) =>
    m.authorId === bot.id ? bot : await ctx.storage.getUser(m.authorId);

  app.get('/channels/:channel_id/messages', async (req) => {
    const { channel_id } = snowflakeParams(req.params as { channel_id: string });
    const q = parse(historyQuery, req.query);
    const bot = botOf(req);
    await requireChannel(ctx, channel_id, bot.id);
    const rows = await ctx.storage.history(channel_id, { ...q, limit: q.limit ?? 50 });
    const authors = new Map<string, StoredUser | null>([[bot.id, bot]]);
    for (const r of rows) if (!authors.has(r.authorId)) authors.set(r.authorId, await ctx.storage.getUser(r.authorId));
    return rows.map((r) => messageJson(r, authors.get(r.authorId) ?? null));
  });

  app.get('/channels/:channel_id/messages/:message_id', async (req) => {
    const { channel_id, message_id } = snowflakeParams(req.params as { channel_id: string; message_id: string });
    const bot = botOf(req);
    await requireChannel(ctx, channel_id, bot.id);
    const m = await ctx.storage.getMessage(channel_id, message_id);
    if (!m) throw new ApiError('UNKNOWN_MESSAGE');
    return messageJson(m, await authorOf(m, bot));
  });

  app.post('/channels/:channel_id/messages', async (req) => {
    const { channel_id } = snowflakeParams(req.params as { channel_id: string });
    const bot = botOf(req);
    const channel = await requireChannel(ctx, channel_id, bot.id);
    const { payload, upload } = await readMessageRequest(req, ctx);
    const body = parse(createMessageBody, payload ?? {});
    if (!body.content && !body.embeds?.length && upload.files.length === 0) throw new ApiError('EMPTY_MESSAGE');
    const attachments = await upload.store(channel_id);
    const m = await ctx.storage.createMessage({
      id: ctx.newId(),
      channelId: channel_id,
      guildId: channel.guildId,
      authorId: bot.id,
      content: body.content ?? '',
      tts: body.tts ?? false,
      flags: body.flags ?? 0,
      embeds: (body.embeds ?? []) as StoredMessage['embeds'],
      attachments,
      reference: (body.message_reference ?? null) as StoredMessage['reference'],
      type: body.message_reference ? 19 : 0,
    });
    const json = messageJson(m, bot, body.nonce);
    const member = m.guildId ? await ctx.storage.getMember(m.guildId, bot.id) : null;
    await publish(ctx, req, messageDispatch('MESSAGE_CREATE', json, m.guildId, member));
    // Placeholders come after the answer (placeholder-job.ts says why), stored with the message.
    upload.placeholders(channel_id, m.id, attachments);
    return json;
  });

  app.patch('/channels/:channel_id/messages/:message_id', async (req) => {
    const { channel_id, message_id } = snowflakeParams(req.params as { channel_id: string; message_id: string });
    const body = parse(editMessageBody, req.body ?? {});
    const bot = botOf(req);
    await requireChannel(ctx, channel_id, bot.id);
    const m = await ctx.storage.getMessage(channel_id, message_id);
    if (!m) throw new ApiError('UNKNOWN_MESSAGE');
    if (m.authorId !== bot.id && (body.content !== undefined || body.embeds !== undefined))
      throw new ApiError('CANNOT_EDIT_OTHERS');
    const edited = await ctx.storage.editMessage(channel_id, message_id, {
      ...(body.content !== undefined ? { content: body.content ?? '' } : {}),
      ...(body.embeds !== undefined ? { embeds: (body.embeds ?? []) as StoredMessage['embeds'] } : {}),
      ...(body.flags !== undefined && body.flags !== null ? { flags: body.flags } : {}),
      editedAt: body.content !== undefined || body.embeds !== undefined ? Date.now() : m.editedAt,
    });
    if (!edited) throw new ApiError('UNKNOWN_MESSAGE');
    const json = messageJson(edited, await authorOf(edited, bot));
    await publish(ctx, req, messageDispatch('MESSAGE_UPDATE', json, edited.guildId));
    return json;
  });

  app.delete('/channels/:channel_id/messages/:message_id', async (req, reply) => {
    const { channel_id, message_id } = snowflakeParams(req.params as { channel_id: string; message_id: string });
    const bot = botOf(req);
    const channel = await requireChannel(ctx, channel_id, bot.id);
    const m = await ctx.storage.getMessage(channel_id, message_id);
    if (!m) throw new ApiError('UNKNOWN_MESSAGE');
    // Roles-lite has no MANAGE_MESSAGES bits yet: authors and the guild owner may delete.
    if (m.authorId !== bot.id && (await ctx.storage.getGuild(channel.guildId))?.ownerId !== bot.id)
      throw new ApiError('MISSING_PERMISSIONS');
    if (!(await ctx.storage.deleteMessage(channel_id, message_id))) throw new ApiError('UNKNOWN_MESSAGE');
    await publish(ctx, req, messageDeleteDispatch(message_id, channel_id, channel.guildId));
    return reply.code(204).send();
  });

  app.post('/channels/:channel_id/typing', async (req, reply) => {
    const { channel_id } = snowflakeParams(req.params as { channel_id: string });
    const bot = botOf(req);
    const channel = await requireChannel(ctx, channel_id, bot.id);
    const member = await ctx.storage.getMember(channel.guildId, bot.id);
    await publish(ctx, req, typingDispatch(channel_id, channel.guildId, bot, member));
    return reply.code(204).send();
  });

  app.post('/channels/:channel_id/messages/:message_id/ack', async (req) => {
    const { channel_id, message_id } = snowflakeParams(req.params as { channel_id: string; message_id: string });
    parse(ackBody, req.body);
    const bot = botOf(req);
    await requireChannel(ctx, channel_id, bot.id);
    if (!(await ctx.storage.getMessage(channel_id, message_id))) throw new ApiError('UNKNOWN_MESSAGE');
    await ctx.readStates.ack(bot.id, channel_id, message_id);
    return { token: null };
  });
}
