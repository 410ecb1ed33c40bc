import type { FastifyInstance } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { HttpError } from '../common/http.ts';
import { Close } from './opcodes.ts';
import type { VoiceServer } from './voice-server.ts';

const snowflake = { type: 'string', pattern: '^[0-9]{1,20}$' } as const;

export interface AdminApiOptions {
  server: VoiceServer;
  adminToken: string;
  /** host:port clients connect to (wss) for a channel, as put in VOICE_SERVER_UPDATE.endpoint (placement may pick another server). */
  endpoint: (guildId: string, channelId: string) => string | Promise<string>;
}

/**
 * The admin surface a main gateway (or an operator's script) uses: place a user on this voice server, and server
 * mute / deafen / disconnect them.
 */
export async function adminApi(app: FastifyInstance, opts: AdminApiOptions): Promise<void> {
  const want = Buffer.from(opts.adminToken);
  app.addHook('onRequest', async (req) => {
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      throw new HttpError(401, 'unauthorized', 'send the admin token as "Authorization: Bearer <ADMIN_TOKEN>"');
    }
  });

  app.post<{ Body: { guild_id: string; channel_id: string; user_id: string } }>(
    '/voice/join',
    {
      schema: {
        body: {
          type: 'object',
          required: ['guild_id', 'channel_id', 'user_id'],
          additionalProperties: false,
          properties: { guild_id: snowflake, channel_id: snowflake, user_id: snowflake },
        },
      },
    },
    async (req) => {
      const { guild_id, channel_id, user_id } = req.body;
      const grant = opts.server.grantJoin(guild_id, channel_id, user_id);
      return {
        endpoint: await opts.endpoint(guild_id, channel_id),
        token: grant.token,
        session_id: grant.session_id,
        expires_at: grant.expires_at,
      };
    },
  );

  const userParams = {
    type: 'object',
    required: ['guildId', 'userId'],
    properties: { guildId: snowflake, userId: snowflake },
  } as const;
  type UserParams = { guildId: string; userId: string };
  const notFound = (p: UserParams) =>
    new HttpError(
      404,
      'unknown_voice_user',
      `user ${p.userId} has no voice session in guild ${p.guildId} on this server`,
    );

  app.post<{ Params: UserParams; Body: { mute: boolean } }>(
    '/voice/guilds/:guildId/users/:userId/mute',
    {
      schema: {
        params: userParams,
        body: { type: 'object', required: ['mute'], properties: { mute: { type: 'boolean' } } },
      },
    },
    async (req) => {
      if (!opts.server.setServerMute(req.params.guildId, req.params.userId, req.body.mute)) throw notFound(req.params);
      return { ok: true, mute: req.body.mute };
    },
  );

  app.post<{ Params: UserParams; Body: { deaf: boolean } }>(
    '/voice/guilds/:guildId/users/:userId/deafen',
    {
      schema: {
        params: userParams,
        body: { type: 'object', required: ['deaf'], properties: { deaf: { type: 'boolean' } } },
      },
    },
    async (req) => {
      if (!opts.server.setDeafened(req.params.guildId, req.params.userId, req.body.deaf)) throw notFound(req.params);
      return { ok: true, deaf: req.body.deaf };
    },
  );

  app.post<{ Params: UserParams; Body: { code?: number; reason?: string } }>(
    '/voice/guilds/:guildId/users/:userId/disconnect',
    {
      schema: {
        params: userParams,
        body: {
          type: 'object',
          properties: {
            code: { type: 'integer', enum: [4006, 4009, 4014, 4015, 4021, 4022] },
            reason: { type: 'string', maxLength: 120 },
          },
        },
      },
    },
    async (req) => {
      const code = req.body?.code ?? Close.Disconnected;
      if (
        !opts.server.disconnect(
          req.params.guildId,
          req.params.userId,
          code,
          req.body?.reason ?? 'disconnected by an administrator',
        )
      ) {
        throw notFound(req.params);
      }
      return { ok: true, code };
    },
  );
}
