/** One gateway-lite node on a fresh SQLite dir and Redis prefix, seeded, with every HTTP request recorded. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { rootLogger } from '../../common/logger.ts';
import {
  loadGatewayLiteConfig,
  seedPlatform,
  startGatewayLite,
  type GatewayLite,
  type GatewayLiteOptions,
  type SeedResult,
} from '../../gateway-lite/index.ts';
import { openStorage } from '../../gateway-lite/storage/index.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Seen {
  method: string;
  path: string;
  ua: string;
  at: number;
  status: number;
  retryAfter?: number;
}

export interface TestNode {
  node: GatewayLite;
  seed: SeedResult;
  api: string;
  seen: Seen[];
  close(): Promise<void>;
}

export async function startTestNode(
  env: Record<string, string> = {},
  extra: Pick<GatewayLiteOptions, 'bus' | 'commands' | 'sessionStore'> = {},
): Promise<TestNode> {
  const dataDir = fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, 'gl-rest-'));
  const config = loadGatewayLiteConfig(
    {
      GATEWAY_LITE_PORT: '0',
      GATEWAY_LITE_INTERNAL_PORT: '0',
      GATEWAY_LITE_SQLITE_SYNC: 'normal',
      GATEWAY_LITE_REDIS_PREFIX: `resound:test:gl-rest:${randomBytes(4).toString('hex')}:`,
      ...env,
    },
    { RESOUND_DATA_DIR: dataDir, RESOUND_BIND: '127.0.0.1' },
  );
  const storage = await openStorage(config.storage);
  const seed = await seedPlatform(storage);
  const node = await startGatewayLite({
    config,
    redisUrl: REDIS_URL,
    logger: rootLogger().child({ part: 'gateway-lite' }),
    storage,
    ...extra,
  });
  const seen: Seen[] = [];
  node.app.server.on('request', (req, res) => {
    const entry: Seen = {
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0],
      ua: String(req.headers['user-agent'] ?? ''),
      at: Date.now(),
      status: 0,
    };
    seen.push(entry);
    // fastify passes its headers to writeHead, so read them there.
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => typeof res;
    res.writeHead = ((code: number, ...rest: unknown[]) => {
      entry.status = code;
      const headers = rest.find((a) => a !== null && typeof a === 'object') as Record<string, unknown> | undefined;
      if (headers?.['retry-after'] !== undefined) entry.retryAfter = Number(headers['retry-after']);
      return writeHead(code, ...rest);
    }) as typeof res.writeHead;
  });
  return {
    node,
    seed,
    api: `${node.url}/api`,
    seen,
    close: async () => {
      await node.close();
      await storage.close();
      const { createRedis } = await import('../../common/redis.ts');
      const r = createRedis(REDIS_URL);
      const keys = await r.keys(`${config.redisPrefix}*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    },
  };
}

/** The value of one counter series from /metrics text. */
export async function metric(node: GatewayLite, name: string, labels: Record<string, string>): Promise<number> {
  const text = await node.registry.metrics();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) && want.every((w) => line.includes(w))) return Number(line.split(' ').pop());
  return 0;
}
