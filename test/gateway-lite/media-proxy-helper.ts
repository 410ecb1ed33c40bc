import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { rootLogger } from '../../common/logger.ts';
import { createRedis } from '../../common/redis.ts';
import { createMediaApp, loadMediaProxyConfig, MediaService } from '../../media-proxy/index.ts';
import { REDIS_URL } from './rest-helpers.ts';

/** A real media proxy (its public upload API) for gateway-lite's attachment tests, with its own Redis key prefix. */
export interface TestMediaProxy {
  url: string;
  close(): Promise<void>;
}

export async function startTestMediaProxy(tag: string): Promise<TestMediaProxy> {
  const prefix = `resound:test:${tag}:${randomBytes(4).toString('hex')}:`;
  const dataDir = fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, `${tag}-`));
  const config = loadMediaProxyConfig(
    { MEDIA_PROXY_PORT: '0', MEDIA_PROXY_PRERENDER: 'false', MEDIA_PROXY_REDIS_PREFIX: prefix },
    dataDir,
  );
  const redis = createRedis(REDIS_URL);
  const logger = rootLogger().child({ part: 'proxy' });
  const service = new MediaService({ config, redis, logger });
  const app = await createMediaApp(service, logger);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: async () => {
      await app.close();
      await service.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    },
  };
}
