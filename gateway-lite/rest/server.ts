import multipart from '@fastify/multipart';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../../common/logger.ts';
import { StorageUnavailableError } from '../storage/types.ts';
import { BotAuth, hashToken } from './auth.ts';
import type { RestContext } from './context.ts';
import { ApiError, type ApiErrorName } from './errors.ts';
import type { RestMetrics } from './metrics.ts';
import { rateLimitHeaders, type RateLimiter } from './rate-limit.ts';
import { registerApplicationRoutes } from './routes-applications.ts';
import { registerGuildRoutes } from './routes-guilds.ts';
import { registerInteractionRoutes } from './routes-interactions.ts';
import { registerMessageRoutes } from './routes-messages.ts';
import { registerVoiceRoutes } from './routes-voice.ts';

export const API_PREFIX = '/api/v10';

export interface RestApiOptions {
  ctx: RestContext;
  limiter: RateLimiter;
  metrics: RestMetrics;
  logger: Logger;
}

/**
 * Routes anyone may call without a token (Discord: GET /gateway); the interaction callback and webhook-token routes
 * are authenticated by the token in their path instead.
 */
const PUBLIC = new Set(['GET /gateway']);
const TOKEN_IN_PATH = /^(POST \/interactions\/:id\/:id\/callback|[A-Z]+ \/webhooks\/:id\/:id(\/messages\/:id)?)$/;

const FASTIFY_ERRORS: Record<string, ApiErrorName> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'GENERAL',
  FST_REQ_FILE_TOO_LARGE: 'TOO_LARGE',
};

/**
 * The Discord v10 REST API as a fastify plugin under /api/v10: bot-token auth, one rate-limit script per request
 * (the X-RateLimit-* headers on every answer), Discord's error JSON for every refusal, each counted by code.
 */
export async function registerRestApi(app: FastifyInstance, opts: RestApiOptions): Promise<void> {
  const { ctx, limiter, metrics } = opts;
  const auth = new BotAuth(ctx.storage);
  const log = new RateLimitedLog(opts.logger);
  const codes = new WeakMap<FastifyRequest, number>();
  const started = new WeakMap<FastifyRequest, bigint>();

  const routeKey = (req: FastifyRequest) => {
    const url = req.routeOptions.url;
    return url ? `${req.method} ${url.slice(API_PREFIX.length).replace(/:[a-z_]+/g, ':id')}` : null;
  };

  const fail = (req: FastifyRequest, reply: FastifyReply, err: ApiError) => {
    codes.set(req, err.code);
    log.warn(`reject:${err.code}`, { code: err.code, status: err.status, url: req.url.split('?')[0] }, err.message);
    return reply.code(err.status).headers(err.headers).send(err.body());
  };

  await app.register(
    async (api) => {
      await api.register(multipart, { limits: { fileSize: ctx.maxUploadBytes, files: 10, fields: 10, parts: 20 } });
      api.decorateRequest('bot', null);

      api.addHook('onRequest', async (req, reply) => {
        started.set(req, process.hrtime.bigint());
        const route = routeKey(req);
        if (!route) return;
        const pathToken = TOKEN_IN_PATH.test(route);
        const open = PUBLIC.has(route) || pathToken;
        const bot = open ? null : await auth.authenticate(req.headers.authorization);
        req.bot = bot;
        const params = req.params as Record<string, string | undefined>;
        // Webhook-token routes are limited as the webhook (its own buckets and global), never as the bot.
        const hookKey = pathToken
          ? `hook:${params.application_id ?? params.interaction_id}:${hashToken(params.interaction_token ?? '')}`
          : undefined;
        const major = params.channel_id ?? params.guild_id ?? params.application_id ?? '';
        let decision;
        try {
          decision = await limiter.check(hookKey ?? bot?.id ?? `ip:${req.ip}`, req.ip, route, major);
        } catch (err) {
          throw new ApiError('STORAGE_UNAVAILABLE', `rate-limit store unavailable: ${(err as Error).message}`);
        }
        reply.headers(rateLimitHeaders(decision));
        if (decision.allowed || decision.scope !== 'shared') {
          if (!bot && !open) return fail(req, reply, new ApiError('UNAUTHORIZED'));
        }
        if (!decision.allowed) {
          metrics.rateLimited.inc({ scope: decision.scope });
          codes.set(req, 0);
          const retry = (decision.retryAfterMs ?? 1000) / 1000;
          return reply.code(429).send({
            message: 'You are being rate limited.',
            retry_after: Math.round(retry * 1000) / 1000,
            global: decision.scope === 'global',
            ...(decision.scope === 'shared' ? { code: 0 } : {}),
          });
        }
      });

      api.addHook('onResponse', async (req, reply) => {
        const status = reply.statusCode;
        const route = req.routeOptions.url ?? 'unmatched';
        metrics.requests.inc({ route, method: req.method, status });
        const t0 = started.get(req);
        if (t0 !== undefined)
          metrics.latency.observe({ route, method: req.method }, Number(process.hrtime.bigint() - t0) / 1e9);
        if (status >= 400) metrics.rejected.inc({ code: String(codes.get(req) ?? 0), status });
        if (status === 401 || status === 403 || status === 429)
          void limiter
            .recordInvalid(req.ip)
            .catch((err: Error) =>
              log.warn('invalid-count', { err: err.message }, 'could not count an invalid request'),
            );
      });

      api.setErrorHandler((err: FastifyError, req, reply) => {
        if (err instanceof ApiError) return fail(req, reply, err);
        if (err instanceof StorageUnavailableError)
          return fail(req, reply, new ApiError('STORAGE_UNAVAILABLE', `Storage unavailable: ${err.message}`));
        const mapped = err.code ? FASTIFY_ERRORS[err.code] : undefined;
        if (mapped) return fail(req, reply, new ApiError(mapped));
        if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message)))
          return fail(req, reply, new ApiError('INVALID_JSON'));
        if (err.statusCode && err.statusCode < 500) return fail(req, reply, new ApiError('GENERAL', err.message));
        req.log.error({ err }, 'request failed');
        return fail(req, reply, new ApiError('INTERNAL'));
      });

      api.setNotFoundHandler((req, reply) => fail(req, reply, new ApiError('UNKNOWN_ROUTE')));

      registerGuildRoutes(api, ctx);
      registerMessageRoutes(api, ctx);
      registerVoiceRoutes(api, ctx);
      registerApplicationRoutes(api, ctx);
      registerInteractionRoutes(api, ctx);
    },
    { prefix: API_PREFIX },
  );
}
