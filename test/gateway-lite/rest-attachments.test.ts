import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { REST } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootLogger } from '../../common/logger.ts';
import { createRedis, type Redis } from '../../common/redis.ts';
import type { FastifyInstance } from 'fastify';
import { createMediaApp, loadMediaProxyConfig, MediaService } from '../../media-proxy/index.ts';
import { REDIS_URL, startTestNode, type TestNode } from './rest-helpers.ts';

/** Attachments through the real media proxy (its public upload API), sent by the real @discordjs/rest client. */
let service: MediaService;
let proxyApp: FastifyInstance;
let proxyRedis: Redis;
let proxyUrl: string;
let t: TestNode;
const prefix = `resound:test:gl-mp:${randomBytes(4).toString('hex')}:`;

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, 'gl-mp-'));
  const config = loadMediaProxyConfig(
    { MEDIA_PROXY_PORT: '0', MEDIA_PROXY_PRERENDER: 'false', MEDIA_PROXY_REDIS_PREFIX: prefix },
    dataDir,
  );
  proxyRedis = createRedis(REDIS_URL);
  const proxyLogger = rootLogger().child({ part: 'proxy' });
  service = new MediaService({ config, redis: proxyRedis, logger: proxyLogger });
  proxyApp = await createMediaApp(service, proxyLogger);
  await proxyApp.listen({ port: 0, host: '127.0.0.1' });
  proxyUrl = `http://127.0.0.1:${(proxyApp.server.address() as AddressInfo).port}`;
  t = await startTestNode({ GATEWAY_LITE_MEDIA_PROXY_URL: proxyUrl });
});
afterAll(async () => {
  await t.close();
  await proxyApp.close();
  await service.close();
  const keys = await proxyRedis.keys(`${prefix}*`);
  if (keys.length) await proxyRedis.del(...keys);
  proxyRedis.disconnect();
});

interface Att {
  url: string;
  proxy_url: string;
  size: number;
  width: number;
  height: number;
  content_type: string;
  flags: number;
  filename: string;
}

describe('attachments', () => {
  it('a multipart upload is stored through the media proxy and its signed URL serves the image', async () => {
    const png = fs.readFileSync(path.resolve(import.meta.dirname, '../../fixtures/images/photo.png'));
    const rest = new REST({ api: t.api, version: '10' }).setToken(t.seed.token);
    const msg = (await rest.post(`/channels/${t.seed.textChannelId}/messages`, {
      body: { content: 'look' },
      files: [{ name: 'photo.png', data: png, contentType: 'image/png' }],
    })) as { id: string; content: string; attachments: Att[] };
    expect(msg.content).toBe('look');
    expect(msg.attachments).toHaveLength(1);
    const a = msg.attachments[0];
    expect(a).toMatchObject({ filename: 'photo.png', content_type: 'image/png', size: png.length, flags: 0 });
    expect(a.width).toBeGreaterThan(0);
    expect(a.url.startsWith(proxyUrl)).toBe(true);
    const img = await fetch(`${a.url}&format=webp&width=32`);
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/webp');
    // Stored with the message: history shows the same attachment.
    const again = (await rest.get(`/channels/${t.seed.textChannelId}/messages/${msg.id}`)) as { attachments: Att[] };
    expect(again.attachments[0].url).toBe(a.url);
  });

  it('an animated GIF carries the IS_ANIMATED attachment flag', async () => {
    const gif = fs.readFileSync(path.resolve(import.meta.dirname, '../../fixtures/images/animated.gif'));
    const rest = new REST({ api: t.api, version: '10' }).setToken(t.seed.token);
    const msg = (await rest.post(`/channels/${t.seed.textChannelId}/messages`, {
      body: {},
      files: [{ name: 'party.gif', data: gif }],
    })) as { attachments: Att[] };
    expect(msg.attachments[0]).toMatchObject({ content_type: 'image/gif', flags: 1 << 5 });
  });

  it('a file the media service refuses is a 50035 on files[n] and no message is written', async () => {
    const rest = new REST({ api: t.api, version: '10' }).setToken(t.seed.token);
    const before = (await t.node.storage.history(t.seed.textChannelId, { limit: 100 })).length;
    const err = (await rest
      .post(`/channels/${t.seed.textChannelId}/messages`, {
        body: { content: 'bad file' },
        files: [{ name: 'notes.txt', data: Buffer.from('not an image at all'), contentType: 'text/plain' }],
      })
      .catch((e: unknown) => e)) as { code: number; status: number; rawError: { errors: Record<string, unknown> } };
    expect(err.status).toBe(400);
    expect(err.code).toBe(50035);
    expect(err.rawError.errors).toHaveProperty('files');
    expect((await t.node.storage.history(t.seed.textChannelId, { limit: 100 })).length).toBe(before);
  });
});
