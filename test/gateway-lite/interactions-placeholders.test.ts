import fs from 'node:fs';
import path from 'node:path';
import { REST } from '@discordjs/rest';
import sharp from 'sharp';
import { thumbHashToRGBA } from 'thumbhash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computePlaceholder } from '../../gateway-lite/index.ts';
import { BusTap } from './interactions-helpers.ts';
import { startTestNode, type TestNode } from './rest-helpers.ts';
import { startTestMediaProxy, type TestMediaProxy } from './media-proxy-helper.ts';

/**
 * Attachment placeholders through the real media proxy and the real @discordjs/rest client (computed by the
 * placeholder job after the message is stored, announced by MESSAGE_UPDATE): the stored ThumbHash,
 * decoded with thumbhash's own decoder, has the original's mean colour within TOLERANCE per channel (0..255);
 * animated images hash their first frame; non-images carry no placeholder.
 */
const TOLERANCE = 12;
const images = path.resolve(import.meta.dirname, '../../fixtures/images');
let proxy: TestMediaProxy;
let t: TestNode;
let tap: BusTap;

beforeAll(async () => {
  proxy = await startTestMediaProxy('gl-ph');
  t = await startTestNode({
    GATEWAY_LITE_MEDIA_PROXY_URL: proxy.url,
  });
  tap = new BusTap(t);
});
afterAll(async () => {
  tap.close();
  await t.close();
  await proxy.close();
});

interface Att {
  filename: string;
  placeholder?: string;
  placeholder_version?: number;
}

/** Mean R, G, B of an RGBA buffer, alpha-weighted like a placeholder drawn over nothing. */
function mean(rgba: Uint8Array): [number, number, number] {
  const s = [0, 0, 0];
  let w = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3] / 255;
    for (let c = 0; c < 3; c++) s[c] += rgba[i + c] * a;
    w += a;
  }
  return [s[0] / w, s[1] / w, s[2] / w];
}

/** Post the files, wait for the placeholder job's MESSAGE_UPDATE, and read the stored message back. */
async function upload(files: Array<{ name: string; data: Buffer }>): Promise<Att[]> {
  const rest = new REST({ api: t.api, version: '10' }).setToken(t.seed.token);
  const msg = (await rest.post(`/channels/${t.seed.textChannelId}/messages`, { body: { content: 'pics' }, files })) as {
    id: string;
    attachments: Att[];
  };
  const update = await tap.next((e) => e.t === 'MESSAGE_UPDATE' && (e.d as { id: string }).id === msg.id);
  const stored = (await rest.get(`/channels/${t.seed.textChannelId}/messages/${msg.id}`)) as { attachments: Att[] };
  expect((update.d as { attachments: Att[] }).attachments).toEqual(stored.attachments);
  expect((update.d as { edited_timestamp: unknown }).edited_timestamp).toBeNull(); // not an edit by the author
  return stored.attachments;
}

describe('attachment placeholders', () => {
  it.each(['photo.jpg', 'photo.png', 'photo.webp', 'photo-alpha.png'])(
    '%s: the decoded ThumbHash has the mean colour of the original',
    async (name) => {
      const data = fs.readFileSync(path.join(images, name));
      const [a] = await upload([{ name, data }]);
      expect(a.placeholder_version).toBe(1);
      const hash = Buffer.from(a.placeholder!, 'base64');
      expect(hash.length).toBeLessThanOrEqual(25);
      const decoded = thumbHashToRGBA(hash);
      const orig = await sharp(data).rotate().ensureAlpha().raw().toBuffer();
      const want = mean(orig);
      const got = mean(decoded.rgba);
      for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(TOLERANCE);
    },
  );

  it('an animated image hashes its first frame', async () => {
    const gif = fs.readFileSync(path.join(images, 'animated.gif'));
    const [anim] = await upload([{ name: 'party.gif', data: gif }]);
    const first = await sharp(gif, { pages: 1 }).ensureAlpha().raw().toBuffer();
    const got = mean(thumbHashToRGBA(Buffer.from(anim.placeholder!, 'base64')).rgba);
    const want = mean(first);
    for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(TOLERANCE);
  });

  it('non-images get no placeholder', async () => {
    // The media proxy stores images only, so a non-image never becomes an attachment; the placeholder step itself
    // answers null for any bytes that are not an image, which is what keeps `placeholder` off such attachments.
    expect(await computePlaceholder(Buffer.from('just some notes'))).toBeNull();
    expect(await computePlaceholder(fs.readFileSync(path.join(images, 'garbage.bin')))).toBeNull();
    const rest = new REST({ api: t.api, version: '10' }).setToken(t.seed.token);
    const err = (await rest
      .post(`/channels/${t.seed.textChannelId}/messages`, {
        body: { content: 'notes' },
        files: [{ name: 'notes.txt', data: Buffer.from('not an image'), contentType: 'text/plain' }],
      })
      .catch((e: unknown) => e)) as { code: number };
    expect(err.code).toBe(50035);
  });
});
