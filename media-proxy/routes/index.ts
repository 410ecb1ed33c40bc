import type { FastifyInstance } from 'fastify';
import { HttpError } from '../../common/http.ts';
import { isMediaError } from '../errors.ts';
import type { MediaService } from '../service.ts';
import { serveRoutes } from './serve.ts';
import { uploadRoutes } from './upload.ts';

export interface MediaRoutesOptions {
  service: MediaService;
}

/**
 * The media proxy's HTTP surface as a fastify plugin: `app.register(mediaRoutes, { service })`. Uploads and the three
 * Discord-shaped GET paths; every refusal is a MediaError that the service counts and logs and this plugin renders in
 * the shared error shape.
 */
export async function mediaRoutes(app: FastifyInstance, opts: MediaRoutesOptions): Promise<void> {
  const { service } = opts;
  // Errors must not be cached by the CDN as if they were the image. A callback hook, not an async one: it runs on
  // every answer, and an async hook costs each of them a promise.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (reply.statusCode >= 400) {
      reply.header('cache-control', 'no-store');
      reply.removeHeader('etag');
    }
    done(null, payload);
  });
  const refuse = (err: unknown, ctx: Record<string, unknown>): unknown => {
    if (!isMediaError(err)) return err;
    service.refuse(err, ctx);
    return new HttpError(err.statusCode, err.code, err.message, err.headers);
  };
  await app.register(serveRoutes, { service, refuse });
  await app.register(uploadRoutes, { service, refuse });
}

/** Turns a thrown MediaError into the counted, logged HTTP error; anything else passes through unchanged. */
export type Refuse = (err: unknown, ctx: Record<string, unknown>) => unknown;
