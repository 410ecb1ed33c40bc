import type { FastifyInstance } from 'fastify';
import { botOf, onGuild, requireGuild, type RestContext } from './context.ts';
import { ApiError } from './errors.ts';
import { voiceStateJson } from './serialize.ts';
import { snowflakeParams } from './validate.ts';

/**
 * GET /guilds/{guild}/voice-states/@me and /{user}: a member's current voice state, as the guild actor holds it
 * (discord.js `guild.voiceStates.fetch(id, { force: true })`); 10065 Unknown Voice State when not in voice.
 */
export function registerVoiceRoutes(app: FastifyInstance, ctx: RestContext): void {
  app.get('/guilds/:guild_id/voice-states/:user_id', async (req) => {
    const raw = req.params as { guild_id: string; user_id: string };
    const bot = botOf(req);
    const { guild_id } = snowflakeParams({ guild_id: raw.guild_id });
    const userId = raw.user_id === '@me' ? bot.id : snowflakeParams({ user_id: raw.user_id }).user_id;
    await requireGuild(ctx, guild_id, bot.id);
    // The owner's actor when this node owns the guild, else storage (a non-owner never holds guild state).
    const local = await onGuild(ctx, guild_id, (a) => a.run((s) => ({ vs: s.voiceStates.get(userId) })));
    const vs = local ? local.vs : (await ctx.storage.listVoiceStates(guild_id)).find((v) => v.userId === userId);
    if (!vs) throw new ApiError('UNKNOWN_VOICE_STATE');
    const [member, user] = await Promise.all([ctx.storage.getMember(guild_id, userId), ctx.storage.getUser(userId)]);
    return voiceStateJson(vs, member, user);
  });
}
