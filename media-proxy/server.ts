import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import sharp from 'sharp';
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

/** The proxy's HTTP app: the common base (/healthz, /metrics, error shape) with the media routes plugin on it. */
export async function createMediaApp(service: MediaService, logger: Logger): Promise<FastifyInstance> {
  const app = createHttpServer({
    part: 'proxy',
    logger,
    registry: service.registry,
    bodyLimit: service.maxUploadBytes + 64 * 1024,
    health: () => service.health(),
  });
  await app.register(mediaRoutes, { service });
  return app;
}
