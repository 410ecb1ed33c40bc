import fs from 'node:fs';
import path from 'node:path';
import { REST } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './rest-helpers.ts';
import { startTestMediaProxy, type TestMediaProxy } from './media-proxy-helper.ts';

/** Attachments through the real media proxy (its public upload API), sent by the real @discordjs/rest client. */
let proxy: TestMediaProxy;
let proxyUrl: string;
let t: TestNode;

beforeAll(async () => {
  proxy = await startTestMediaProxy('gl-mp');
  proxyUrl = proxy.url;
  t = await startTestNode({ GATEWAY_LITE_MEDIA_PROXY_URL: proxyUrl });
});
afterAll(async () => {
  await t.close();
  await proxy.close();
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
    const img = await fetch(`${a.proxy_url}&format=webp&width=32`);
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/webp');
    // `url` is the file as uploaded, as Discord's CDN serves it.
    const original = await fetch(a.url);
    expect(Buffer.from(await original.arrayBuffer()).equals(png)).toBe(true);
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
