import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import sharp from 'sharp';
import type { HttpLimits } from '../common/connection-guard.ts';
import { createHttpServer } from '../common/http.ts';
import type { MediaProxyConfig } from './config.ts';
import { mediaRoutes } from './routes/index.ts';
import type { MediaService } from './service.ts';

/**
 * libvips' process-wide settings. Called once by whoever owns the process (the proxy's starter, the pre-render child),
 * never by a MediaService, so two services in one process cannot fight over them.
 */
export function configureSharp(settings: MediaProxyConfig['sharp']): void {
  sharp.concurrency(settings.concurrency);
  sharp.cache(settings.cacheMb > 0 ? { memory: settings.cacheMb, items: 100, files: 20 } : false);
}

/**
 * The proxy's public HTTP app: the common base (/healthz, error shape) with the media routes plugin on it. `/metrics`
 * is not here: it lives on the internal listener (`createMediaInternalApp`).
 */
export async function createMediaApp(
  service: MediaService,
  logger: Logger,
  limits?: HttpLimits,
): Promise<FastifyInstance> {
  const app = createHttpServer({
    part: 'proxy',
    logger,
    registry: service.registry,
    bodyLimit: service.maxUploadBytes + 64 * 1024,
    limits,
    metrics: false,
    health: () => service.health(),
  });
  await app.register(mediaRoutes, { service });
  return app;
}

/** The operators' listener: /metrics and /healthz, bound to RESOUND_INTERNAL_BIND by the starter. */
export function createMediaInternalApp(service: MediaService, logger: Logger, limits?: HttpLimits): FastifyInstance {
  return createHttpServer({
    part: 'proxy',
    logger,
    registry: service.registry,
    limits,
    health: () => service.health(),
  });
}
