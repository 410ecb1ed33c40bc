import type { FastifyInstance } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { HttpError } from '../common/http.ts';
import { Close } from './opcodes.ts';
import type { VoiceServer } from './voice-server.ts';

const MAX_SNOWFLAKE = (1n << 64n) - 1n;

/**
 * A Discord id as this API accepts it: a decimal string of a non-zero unsigned 64-bit value. Checked by hand rather
 * than by the JSON schema because fastify's schema coercion would turn a JSON number into a string after JSON.parse
 * has already rounded it (81384788765712384 → "81384788765712380": someone else's guild).
 */
function snowflakeError(field: string, value: unknown): string | undefined {
  if (typeof value !== 'string')
    return `${field} must be a snowflake as a decimal string (JSON numbers lose precision above 2^53), got ${typeof value}`;
  if (!/^[1-9][0-9]{0,19}$/.test(value) || BigInt(value) > MAX_SNOWFLAKE)
    return `${field} must be a snowflake: a decimal string from 1 to 18446744073709551615`;
  return undefined;
}

export interface AdminApiOptions {
  server: VoiceServer;
  adminToken: string;
  /** host:port clients connect to (wss) for a channel, as put in VOICE_SERVER_UPDATE.endpoint (placement may pick another server). */
  endpoint: (guildId: string, channelId: string) => string | Promise<string>;
  /** Told about every refused id (for the rejection counter and a rate-limited log line). */
  onReject?: (field: string, message: string) => void;
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

  /** Throws a 400 naming the first field that is not a valid snowflake. */
  const checkIds = (source: Record<string, unknown>, fields: readonly string[]): void => {
    for (const field of fields) {
      const message = snowflakeError(field, source[field]);
      if (!message) continue;
      opts.onReject?.(field, message);
      throw new HttpError(400, 'invalid_snowflake', message);
    }
  };
  // Body ids are declared without a type so the schema cannot coerce them; checkIds decides.
  const anyId = {} as const;

  app.post<{ Body: { guild_id: string; channel_id: string; user_id: string } }>(
    '/voice/join',
    {
      schema: {
        body: {
          type: 'object',
          required: ['guild_id', 'channel_id', 'user_id'],
          additionalProperties: false,
          properties: { guild_id: anyId, channel_id: anyId, user_id: anyId },
        },
      },
      preHandler: async (req) => checkIds(req.body, ['guild_id', 'channel_id', 'user_id']),
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

  type UserParams = { guildId: string; userId: string };
  const checkUser = async (req: { params: UserParams }) => checkIds(req.params, ['guildId', 'userId']);
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
        body: { type: 'object', required: ['mute'], properties: { mute: { type: 'boolean' } } },
      },
      preHandler: checkUser,
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
        body: { type: 'object', required: ['deaf'], properties: { deaf: { type: 'boolean' } } },
      },
      preHandler: checkUser,
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
        body: {
          type: 'object',
          properties: {
            code: { type: 'integer', enum: [4006, 4009, 4014, 4015, 4021, 4022] },
            reason: { type: 'string', maxLength: 120 },
          },
        },
      },
      preHandler: checkUser,
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
