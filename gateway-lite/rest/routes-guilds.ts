import type { FastifyInstance } from 'fastify';
import type { StoredChannel } from '../storage/types.ts';
import { channelCreateDispatch } from '../gateway/dispatches.ts';
import { botOf, onGuild, publish, requireChannel, requireGuild, type RestContext } from './context.ts';
import { ApiError } from './errors.ts';
import { channelJson, guildJson, memberJson, userJson } from './serialize.ts';
import { createChannelBody, membersQuery, parse, snowflakeParams } from './validate.ts';

/** users/@me, guilds (get, members, create channel), channels (get), gateway discovery. */
export function registerGuildRoutes(app: FastifyInstance, ctx: RestContext): void {
  app.get('/users/@me', async (req) => userJson(botOf(req)));

  app.get('/users/@me/guilds', async (req) =>
    (await ctx.storage.listGuildsForUser(botOf(req).id)).map((g) => ({
      id: g.id,
      name: g.name,
      icon: g.icon,
      owner: g.ownerId === botOf(req).id,
      permissions: '0',
      features: [],
    })),
  );

  app.get('/guilds/:guild_id', async (req) => {
    const { guild_id } = snowflakeParams(req.params as { guild_id: string });
    await requireGuild(ctx, guild_id, botOf(req).id);
    const snap = await onGuild(ctx, guild_id, (a) => a.snapshot());
    if (snap) return guildJson(snap.guild, snap.roles);
    const guild = await ctx.storage.getGuild(guild_id);
    if (!guild) throw new ApiError('UNKNOWN_GUILD');
    return guildJson(guild, await ctx.storage.listRoles(guild_id));
  });

  app.get('/guilds/:guild_id/channels', async (req) => {
    const { guild_id } = snowflakeParams(req.params as { guild_id: string });
    await requireGuild(ctx, guild_id, botOf(req).id);
    const snap = await onGuild(ctx, guild_id, (a) => a.snapshot());
    return (snap?.channels ?? (await ctx.storage.listChannels(guild_id))).map(channelJson);
  });

  app.get('/guilds/:guild_id/members', async (req) => {
    const { guild_id } = snowflakeParams(req.params as { guild_id: string });
    const q = parse(membersQuery, req.query);
    await requireGuild(ctx, guild_id, botOf(req).id);
    const members = await ctx.storage.listMembers(guild_id, { after: q.after, limit: q.limit ?? 1 });
    const users = await Promise.all(members.map((m) => ctx.storage.getUser(m.userId)));
    return members.map((m, i) => memberJson(m, users[i]));
  });

  app.post('/guilds/:guild_id/channels', async (req, reply) => {
    const { guild_id } = snowflakeParams(req.params as { guild_id: string });
    const body = parse(createChannelBody, req.body);
    const bot = botOf(req);
    await requireGuild(ctx, guild_id, bot.id);
    const guild = await ctx.storage.getGuild(guild_id);
    // Roles-lite has no MANAGE_CHANNELS bits yet: the guild owner may create channels, other members may not.
    if (guild?.ownerId !== bot.id) throw new ApiError('MISSING_PERMISSIONS');
    const type = body.type ?? 0;
    const channel: StoredChannel = {
      id: ctx.newId(),
      guildId: guild_id,
      type,
      name: body.name,
      position: body.position ?? 0,
      topic: type === 0 ? (body.topic ?? null) : null,
      parentId: body.parent_id ?? null,
      bitrate: type === 2 ? (body.bitrate ?? 64000) : null,
      userLimit: type === 2 ? (body.user_limit ?? 0) : null,
    };
    const done = await onGuild(ctx, guild_id, (a) => a.upsertChannel(channel));
    if (!done) {
      await ctx.storage.upsertChannel(channel);
      await ctx.guilds.changedElsewhere(guild_id);
    }
    await publish(ctx, req, channelCreateDispatch(channel));
    return reply.code(201).send(channelJson(channel));
  });

  app.get('/channels/:channel_id', async (req) => {
    const { channel_id } = snowflakeParams(req.params as { channel_id: string });
    return channelJson(await requireChannel(ctx, channel_id, botOf(req).id));
  });

  app.get('/gateway', async () => ({ url: ctx.gatewayUrl }));

  app.get('/gateway/bot', async (req) => {
    botOf(req);
    const g = ctx.gateway;
    return {
      url: ctx.gatewayUrl,
      shards: g.shards,
      // Not counted down (README): identifies are throttled per max_concurrency bucket instead.
      session_start_limit: {
        total: g.sessionStartLimit,
        remaining: g.sessionStartLimit,
        reset_after: 14_400_000,
        max_concurrency: g.maxConcurrency,
      },
    };
  });
}
