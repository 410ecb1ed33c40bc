import { lazyRequestLogger } from './request-logger.ts';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ConfigError } from './config.ts';
import { renderMetrics } from './metrics.ts';
import { DEFAULT_HTTP_LIMITS, guardServer, type HttpLimits } from './connection-guard.ts';

/** The error body every Resound HTTP API answers with: a stable machine code and a sentence naming the fix. */
export interface ErrorBody {
  error: { code: string; message: string };
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface BaseHttpOptions {
  part: string;
  logger: Logger;
  registry: Registry;
  /** Extra health facts (e.g. redis reachable); a thrown error turns /healthz into 503. */
  health?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  https?: { key: string; cert: string };
  bodyLimit?: number;
  /** Timeouts and connection caps (RESOUND_HTTP_*); defaults when omitted. */
  limits?: HttpLimits;
  /** Serve Prometheus /metrics here (default true); public listeners say false and leave it to the internal one. */
  metrics?: boolean;
  /** More Prometheus text appended to /metrics (series kept elsewhere, e.g. SFU worker processes'). */
  extraMetrics?: () => Promise<string>;
}

/** A fastify instance with /healthz, /metrics and the shared error shape already registered. */
export function createHttpServer(opts: BaseHttpOptions): FastifyInstance {
  const fopts: FastifyServerOptions & { https?: { key: string; cert: string } } = {
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    ...(opts.https ? { https: opts.https } : {}),
  };
  const app = Fastify(fopts) as unknown as FastifyInstance;
  // Most answers never log (cache hits, heartbeats, metrics scrapes): make the request's child logger on first use.
  app.setChildLoggerFactory(lazyRequestLogger);
  guardServer(app.server, opts.limits ?? DEFAULT_HTTP_LIMITS, {
    tls: Boolean(opts.https),
    registry: opts.registry,
    logger: opts.logger,
  });

  app.get('/healthz', async (_req, reply) => {
    try {
      const extra = (await opts.health?.()) ?? {};
      return { ok: true, part: opts.part, uptime_s: Math.round(process.uptime()), ...extra };
    } catch (err) {
      return reply.code(503).send({ ok: false, part: opts.part, error: (err as Error).message });
    }
  });

  if (opts.metrics !== false)
    app.get('/metrics', async (_req, reply) => {
      const { body, contentType } = await renderMetrics(opts.registry);
      const extra = opts.extraMetrics ? await opts.extraMetrics() : '';
      return reply.type(contentType).send(extra ? `${body}\n${extra}` : body);
    });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof HttpError) {
      return reply
        .code(err.statusCode)
        .headers(err.headers)
        .send({ error: { code: err.code, message: err.message } });
    }
    if (err.validation) {
      return reply.code(400).send({ error: { code: 'bad_request', message: err.message } });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send({
      error: { code: status >= 500 ? 'internal' : (err.code ?? 'bad_request').toLowerCase(), message: err.message },
    });
  });

  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .send({ error: { code: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0]}` } });
  });
  return app;
}

/** Logs the one JSON line per listener that scripts and tests wait for. */
export function logListening(logger: Logger, part: string, url: string, extra: Record<string, unknown> = {}): void {
  logger.info({ part, url, ...extra }, 'listening');
}

/**
 * Runs a listener's `listen` and turns "port already in use" into the configuration error it is: one line naming the
 * listener, the variable that set its port and the port (the CLI exits 78 on it), instead of a raw EADDRINUSE stack.
 */
export async function listenExplained<T>(
  where: { listener: string; variable: string; host: string; port: number },
  listen: () => Promise<T>,
): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new ConfigError([
      `${where.variable}=${where.port}: the ${where.listener} listener cannot use ${where.host}:${where.port}, ` +
        'another process holds it; stop that process or choose another port (0 picks a free one)',
    ]);
  }
}

/**
 * Listens `app` where asked (a taken port becomes listenExplained's one-line config error) and returns its http:// URL
 * with the port actually bound (0 picks a free one).
 */
export async function listenHttp(
  app: FastifyInstance,
  where: { listener: string; variable: string; host: string; port: number },
): Promise<string> {
  await listenExplained(where, () => app.listen({ port: where.port, host: where.host }));
  return `http://${where.host}:${(app.server.address() as AddressInfo).port}`;
}
