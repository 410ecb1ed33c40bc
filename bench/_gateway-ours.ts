/**
 * The gateway under test: one gateway-lite node (REST listener + /gateway, LocalDispatchBus: one node's fan-out,
 * no Redis hop) on a fresh SQLite, seeded with BOTS bot users who are all members of one guild. Clients identify as
 * those bots in turn (the identify throttle is per bot and bucket; Discord lets one bot identify shard [0, 1] many
 * times, just not all in the same instant). Dispatches are published on the node's bus exactly as REST does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_HTTP_LIMITS } from '../common/http-limits.ts';
import { rootLogger } from '../common/logger.ts';
import { SnowflakeGenerator } from '../common/snowflake.ts';
import { Intent, loadGatewayLiteConfig, openStorage, seedPlatform, startGatewayLite } from '../gateway-lite/index.ts';
import type { FanoutServer } from './_gateway-fanout.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BOTS = 100;
/** The zstd level the gateway runs with by default (GATEWAY_LITE_ZSTD_LEVEL). */
export const ZSTD_LEVEL = loadGatewayLiteConfig({}, { RESOUND_DATA_DIR: os.tmpdir(), RESOUND_BIND: '127.0.0.1' })
  .gateway.zstdLevel;

export async function gatewayServer(compress: 'none' | 'zlib-stream'): Promise<FanoutServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-bench-gw-'));
  const config = loadGatewayLiteConfig(
    {
      GATEWAY_LITE_PORT: '0',
      GATEWAY_LITE_INTERNAL_PORT: '0',
      GATEWAY_LITE_SQLITE_SYNC: 'normal',
      GATEWAY_LITE_REDIS_PREFIX: `resound:bench:gw:${process.pid}:`,
      GATEWAY_LITE_HEARTBEAT_MS: '600000',
      GATEWAY_LITE_MAX_CONCURRENCY: '1',
      GATEWAY_LITE_IDENTIFY_WINDOW_MS: '1',
      GATEWAY_LITE_WS_MAX_BUFFERED_BYTES: String(64 * 1024 * 1024),
    },
    { RESOUND_DATA_DIR: dataDir, RESOUND_BIND: '127.0.0.1' },
  );
  const storage = await openStorage(config.storage);
  // One id generator for every seed: separate ones would mint the same ids within a millisecond.
  const ids = new SnowflakeGenerator();
  const main = await seedPlatform(storage, { ids });
  const tokens = [main.token];
  for (let i = 1; i < BOTS; i++) {
    const s = await seedPlatform(storage, { botName: `bench-bot-${i}`, ids });
    await storage.upsertMember({
      guildId: main.guildId,
      userId: s.botId,
      nick: null,
      roleIds: [],
      joinedAt: Date.now(),
    });
    tokens.push(s.token);
  }
  // The listener's connection caps (RESOUND_HTTP_MAX_CONNECTIONS[_PER_IP]) sized for one machine's 10 k clients.
  const httpLimits = { ...DEFAULT_HTTP_LIMITS, maxConnections: 50_000, maxConnectionsPerIp: 50_000 };
  // Info lines (listening…) would interleave with the figures on stdout.
  const logger = rootLogger().child({}, { level: 'warn' });
  const node = await startGatewayLite({ config, redisUrl: REDIS_URL, logger, storage, httpLimits });
  const query = `v=10&encoding=json${compress === 'none' ? '' : `&compress=${compress}`}`;
  return {
    url: `${node.gatewayUrl}?${query}`,
    identify: {
      tokens,
      intents: Intent.GUILDS | Intent.GUILD_MESSAGES | Intent.MESSAGE_CONTENT,
    },
    async ready(n) {
      while (node.hub.attachedCount() < n) await new Promise((r) => setTimeout(r, 100));
    },
    publish: (t, d) =>
      node.bus.publish({
        t: t as 'MESSAGE_CREATE',
        d: { ...d, guild_id: main.guildId },
        guildId: main.guildId,
        intent: Intent.GUILD_MESSAGES,
      }),
    async close() {
      await node.close();
      await storage.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
