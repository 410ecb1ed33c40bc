import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { pino } from 'pino';
import sharp from 'sharp';
import { createRedis, type Redis } from '../../common/redis.ts';
import type { FastifyInstance } from 'fastify';
import {
  createMediaApp,
  createMediaInternalApp,
  loadMediaProxyConfig,
  MediaService,
  type MediaServiceOptions,
} from '../../media-proxy/index.ts';
import { dropPrefix, tempDir as scratchDir } from '../../testkit/index.ts';

export { dropPrefix, IMAGE_FIXTURES_DIR as FIXTURES, imageFixture as fixture } from '../../testkit/index.ts';

export const tempDir = (tag: string): string => scratchDir(`mp-${tag}`);

export function redisClient(): Redis {
  return createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
}

export interface TestProxy {
  service: MediaService;
  /** The service's HTTP app (the media routes plugin on the common base), not listening until a test says so. */
  app: FastifyInstance;
  /** The operators' listener (/metrics, /healthz), not listening until a test says so. */
  internal: FastifyInstance;
  redis: Redis;
  prefix: string;
  dir: string;
  close(): Promise<void>;
}

/** A MediaService and its HTTP app on temp dirs and a unique Redis prefix; `env` overrides MEDIA_PROXY_* variables. */
export async function makeProxy(
  env: Record<string, string> = {},
  extra: Partial<MediaServiceOptions> = {},
): Promise<TestProxy> {
  const dir = tempDir('proxy');
  const prefix = `test:mp:${randomBytes(6).toString('hex')}:`;
  const config = loadMediaProxyConfig(
    {
      MEDIA_PROXY_PORT: '0',
      MEDIA_PROXY_REDIS_PREFIX: prefix,
      MEDIA_PROXY_SIGNING_SECRET: 'test-secret-0123456789abcdef',
      ...env,
    },
    dir,
  );
  const redis = redisClient();
  const logger = pino({ level: 'silent' });
  const service = new MediaService({ config, redis, logger, ...extra });
  await service.start();
  const app = await createMediaApp(service, logger);
  const internal = createMediaInternalApp(service, logger);
  await app.ready();
  return {
    service,
    app,
    internal,
    redis,
    prefix,
    dir,
    close: async () => {
      await Promise.all([app.close(), internal.close()]);
      await service.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A multipart/form-data body with one file field, for inject() and fetch(). */
export function multipartBody(
  data: Buffer,
  filename: string,
  contentType = 'application/octet-stream',
): { body: Buffer; headers: Record<string, string> } {
  const boundary = `----resound${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\n` +
      `Content-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      `Content-Type: ${contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    body: Buffer.concat([head, data, tail]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

export async function pixels(
  img: Buffer,
): Promise<{ data: Buffer; width: number; height: number; channels: number; at(x: number, y: number): number[] }> {
  const { data, info } = await sharp(img).raw().toBuffer({ resolveWithObject: true });
  return {
    data,
    width: info.width,
    height: info.height,
    channels: info.channels,
    at: (x, y) =>
      Array.from(
        data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + info.channels),
      ),
  };
}

/** Expects `p` to reject with a MediaError carrying `code`. */
export async function rejectsWithCode(
  p: Promise<unknown>,
  code: string,
): Promise<{ code: string; statusCode: number; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code: string; statusCode: number; message: string };
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`, { cause: err });
    return e;
  }
  throw new Error(`expected rejection with ${code}, but it resolved`);
}
