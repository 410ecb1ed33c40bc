/**
 * `npm start` in one test process: the voice part and gateway-lite started through bin/compose.ts (the same wiring as
 * `resound start`), on ephemeral ports, with a seeded guild of two bots, and real discord.js clients pointed at it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { pino } from 'pino';
import { localVoiceGateway, startGatewayLite, startVoice } from '../../bin/compose.ts';
import { loadCommonConfig } from '../../common/config.ts';
import type { RunningPart } from '../../common/part.ts';
import { snowflake } from '../../common/snowflake.ts';
import { openStorage, seedPlatform, type SeedResult } from '../../gateway-lite/index.ts';
import type { VoiceGateway } from '../../signaling/index.ts';
import { dropPrefix, tempDir } from '../../testkit/index.ts';
import { createRedis } from '../../common/redis.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Platform {
  /** http://127.0.0.1:PORT — discord.js `rest.api` is this + '/api'. */
  http: string;
  voice: VoiceGateway;
  seed: SeedResult & { voice2: string };
  parts: RunningPart[];
  close(): Promise<void>;
}

export async function startPlatform(extraEnv: Record<string, string> = {}): Promise<Platform> {
  const dataDir = tempDir('djs-voice');
  // The voice server's certificate is the test run's, which NODE_EXTRA_CA_CERTS already trusts.
  const tlsDir = path.join(process.env.RESOUND_TEST_DATA_DIR!, 'tls');
  const prefix = `resound:test:djs:${process.pid}:${Date.now().toString(36)}:`;
  const env: Record<string, string | undefined> = {
    ...process.env,
    RESOUND_DATA_DIR: dataDir,
    RESOUND_BIND: '127.0.0.1',
    GATEWAY_LITE_PORT: '0',
    GATEWAY_LITE_INTERNAL_PORT: '0',
    GATEWAY_LITE_REDIS_PREFIX: prefix,
    GATEWAY_LITE_MAX_CONCURRENCY: '16',
    SIGNALING_WSS_PORT: '0',
    SIGNALING_WS_PORT: '-1',
    SIGNALING_INTERNAL_PORT: '0',
    SIGNALING_TLS_CERT: path.join(tlsDir, 'dev-cert.pem'),
    SIGNALING_TLS_KEY: path.join(tlsDir, 'dev-key.pem'),
    SFU_UDP_PORT: '0',
    ...extraEnv,
  };
  const common = loadCommonConfig(env);
  const storage = await openStorage({ kind: 'sqlite', dataDir: path.join(common.RESOUND_DATA_DIR, 'gateway-lite') });
  let seed: Platform['seed'];
  try {
    const s = await seedPlatform(storage, { bots: 2 });
    const voice2 = snowflake();
    await storage.upsertChannel({
      id: voice2,
      guildId: s.guildId,
      type: 2,
      name: 'Second',
      position: 2,
      topic: null,
      parentId: null,
      bitrate: 64000,
      userLimit: 0,
    });
    seed = { ...s, voice2 };
  } finally {
    await storage.close();
  }
  const ctx = {
    env,
    common,
    logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
    redis: async () => ({ url: REDIS_URL, close: async () => {} }),
  };
  const parts: RunningPart[] = [await startVoice(ctx)];
  parts.push(await startGatewayLite(ctx));
  const voice = localVoiceGateway();
  if (!voice) throw new Error('compose did not register the voice server');
  return {
    http: parts[1].urls.http,
    voice,
    seed,
    parts,
    async close() {
      for (const p of parts.reverse()) await p.close();
      const redis = createRedis(REDIS_URL);
      await dropPrefix(redis, prefix);
      redis.disconnect();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A discord.js bot logged in against the platform (REST `api` → our /api; the gateway URL comes from /gateway/bot). */
export async function loginBot(http: string, token: string): Promise<Client<true>> {
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildVoiceStates,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
    ],
    rest: { api: `${http}/api` },
  });
  const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(token);
  return ready;
}
