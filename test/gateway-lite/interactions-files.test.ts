import fs from 'node:fs';
import path from 'node:path';
import { AttachmentBuilder, Client, Events, GatewayIntentBits, type Interaction } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from './rest-helpers.ts';
import { RawClient, startGatewayTestNode, until, type Frame } from './gateway-helpers.ts';
import { botAndUser, userCall } from './interactions-helpers.ts';
import { startTestMediaProxy, type TestMediaProxy } from './media-proxy-helper.ts';

/**
 * Files in interaction responses, sent by the real discord.js 14 bot (multipart `payload_json` + `files[n]`):
 * reply({files}), followUp({files}) and deferReply() + editReply({files}) reach the user's session as
 * MESSAGE_CREATE/UPDATE whose attachments' signed URLs (the real media proxy) serve the files' exact pixels, with the
 * placeholder job's MESSAGE_UPDATE after; editReply({attachments: []}) removes them. The refusals (too many, too
 * large, an attachments[].id naming no part, malformed multipart, no payload_json) answer like the message route
 * and leave the interaction unacknowledged.
 */
const images = path.resolve(import.meta.dirname, '../../fixtures/images');
const png = fs.readFileSync(path.join(images, 'photo.png'));
const jpg = fs.readFileSync(path.join(images, 'photo.jpg'));
const gif = fs.readFileSync(path.join(images, 'still.gif'));
/** Small enough that a 100 KiB part is refused, big enough for the fixtures. */
const MAX_UPLOAD = 64 * 1024;

let proxy: TestMediaProxy;
let t: TestNode;
let client: Client;
let user: RawClient;
let commands: Map<string, string>;
/** Interactions the bot leaves to the test (`raw`): their id and token. */
const held: Array<{ id: string; token: string }> = [];
const botErrors: unknown[] = [];

beforeAll(async () => {
  proxy = await startTestMediaProxy('gl-ixf');
  t = await startGatewayTestNode({
    GATEWAY_LITE_INTERACTIONS_ALLOW: '127.0.0.1/32',
    GATEWAY_LITE_HEARTBEAT_MS: '30000',
    GATEWAY_LITE_MEDIA_PROXY_URL: proxy.url,
    GATEWAY_LITE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
    // The refusal tests answer one held interaction several times: room for a slow shared machine.
    GATEWAY_LITE_INTERACTIONS_ACK_MS: '15000',
  });
  client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: t.api } });
  client.on(Events.InteractionCreate, (i: Interaction) => void answer(i).catch((err: unknown) => botErrors.push(err)));
  ({ commands, user } = await botAndUser(
    t,
    client,
    ['photo', 'two', 'later', 'clear', 'keep', 'raw'].map((name) => ({ name, description: `files: ${name}` })),
  ));
}, 60_000);

afterAll(async () => {
  user?.close();
  await client?.destroy();
  await t?.close();
  await proxy?.close();
});

const file = (data: Buffer, name: string, description?: string) =>
  new AttachmentBuilder(data, { name, ...(description ? { description } : {}) });

async function answer(i: Interaction): Promise<void> {
  if (!i.isChatInputCommand()) return;
  switch (i.commandName) {
    case 'photo':
      await i.reply({ content: 'a photo', files: [file(png, 'a.png', 'a test photo')] });
      return;
    case 'two':
      await i.reply('two coming');
      await i.followUp({ content: 'two files', files: [file(jpg, 'b.jpg'), file(gif, 'c.gif')] });
      return;
    case 'later':
      await i.deferReply();
      await i.editReply({ content: 'later with a file', files: [file(jpg, 'late.jpg')] });
      return;
    case 'clear':
      await i.reply({ content: 'clear me', files: [file(png, 'gone.png')] });
      await i.editReply({ content: 'cleared', attachments: [] });
      return;
    case 'keep': {
      const sent = await i.reply({ content: 'keep one', files: [file(png, 'kept.png')], fetchReply: true });
      await i.editReply({
        content: 'kept and added',
        attachments: [...sent.attachments.values()],
        files: [file(gif, 'new.gif')],
      });
      return;
    }
    case 'raw':
      held.push({ id: i.id, token: i.token });
  }
}

const invoke = (name: string) =>
  userCall(t, 'POST', '/interactions', {
    type: 2,
    application_id: t.seed.applicationId,
    guild_id: t.seed.guildId,
    channel_id: t.seed.textChannelId,
    nonce: name,
    data: { id: commands.get(name), name },
  });

interface Att {
  id: string;
  filename: string;
  description?: string;
  size: number;
  url: string;
  proxy_url: string;
  width: number | null;
  height: number | null;
  content_type: string;
  placeholder?: string;
  placeholder_version?: number;
}
type Msg = { id: string; content: string; flags: number; attachments: Att[]; interaction_metadata?: { name: string } };
const msg = (kind: string, pred: (m: Msg) => boolean) => (f: Frame) => f.t === kind && pred(f.d as Msg);

/**
 * The attachment's signed URL serves this file: the proxy re-encodes every answer (it never sends the original's bytes
 * back as they are), so the check is pixel-exact — the URL asked for lossless PNG decodes to the very pixels of the
 * uploaded bytes — and the attachment's `size` is the upload's.
 */
async function expectServes(a: Att, data: Buffer): Promise<void> {
  expect(a.url.startsWith(proxy.url)).toBe(true);
  expect(a.size).toBe(data.length);
  // `url` is the file as uploaded (passthrough=true), byte for byte; `proxy_url` renders it.
  const res = await fetch(a.url);
  expect(res.status).toBe(200);
  expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
  const rendition = await fetch(`${a.proxy_url}&format=png`);
  expect(rendition.headers.get('content-type')).toBe('image/png');
}

describe('discord.js bot sends files through interactions', () => {
  it('reply({files}): the user sees the attachment, its URL serves the bytes, the placeholder follows', async () => {
    expect((await invoke('photo')).status).toBe(204);
    const created = await user.next(
      msg('MESSAGE_CREATE', (m) => m.content === 'a photo'),
      'reply',
    );
    const m = created.d as Msg;
    expect(m.attachments).toHaveLength(1);
    const [a] = m.attachments;
    expect(a).toMatchObject({
      filename: 'a.png',
      description: 'a test photo',
      size: png.length,
      content_type: 'image/png',
    });
    expect(a.width).toBeGreaterThan(0);
    await expectServes(a, png);
    const withHash = await user.next(
      msg('MESSAGE_UPDATE', (x) => x.id === m.id && Boolean(x.attachments?.[0]?.placeholder)),
      'placeholder',
    );
    expect((withHash.d as Msg).attachments[0]).toMatchObject({ id: a.id, url: a.url, placeholder_version: 1 });
    const stored = await t.node.storage.getMessage(t.seed.textChannelId, m.id);
    expect(stored?.attachments[0].placeholder).toBe((withHash.d as Msg).attachments[0].placeholder);
  });

  it('followUp({files}) with two files: one message, both attachments serving their bytes', async () => {
    await invoke('two');
    const f = await user.next(
      msg('MESSAGE_CREATE', (m) => m.content === 'two files'),
      'follow-up',
    );
    const m = f.d as Msg;
    expect(m.attachments.map((a) => a.filename)).toEqual(['b.jpg', 'c.gif']);
    expect(m.interaction_metadata).toMatchObject({ name: 'two' });
    await expectServes(m.attachments[0], jpg);
    await expectServes(m.attachments[1], gif);
  });

  it('deferReply() then editReply({files}) fills the loading message with the file', async () => {
    await invoke('later');
    const loading = await user.next(
      msg('MESSAGE_CREATE', (m) => m.interaction_metadata?.name === 'later'),
      'loading',
    );
    expect((loading.d as Msg).flags & 128).toBe(128);
    const id = (loading.d as Msg).id;
    const filled = await user.next(
      msg('MESSAGE_UPDATE', (m) => m.id === id && m.content === 'later with a file'),
      'edit',
    );
    const m = filled.d as Msg;
    expect(m.flags & 128).toBe(0);
    expect(m.attachments.map((a) => a.filename)).toEqual(['late.jpg']);
    await expectServes(m.attachments[0], jpg);
  });

  it('editReply({attachments: []}) removes the reply’s attachments', async () => {
    await invoke('clear');
    const created = await user.next(
      msg('MESSAGE_CREATE', (m) => m.content === 'clear me'),
      'reply',
    );
    expect((created.d as Msg).attachments).toHaveLength(1);
    const cleared = await user.next(
      msg('MESSAGE_UPDATE', (m) => m.content === 'cleared'),
      'cleared',
    );
    expect((cleared.d as Msg).attachments).toEqual([]);
    // The placeholder job for the removed file (tiny, well under a second) must not bring it back.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await t.node.storage.getMessage(t.seed.textChannelId, (created.d as Msg).id))?.attachments).toEqual([]);
  });

  it('editReply({attachments: [kept], files}) keeps the listed attachment and adds the new file', async () => {
    await invoke('keep');
    const created = await user.next(
      msg('MESSAGE_CREATE', (m) => m.content === 'keep one'),
      'reply',
    );
    const kept = (created.d as Msg).attachments[0];
    const edited = await user.next(
      msg('MESSAGE_UPDATE', (m) => m.content === 'kept and added'),
      'edit',
    );
    const m = edited.d as Msg;
    expect(m.attachments.map((a) => a.filename)).toEqual(['kept.png', 'new.gif']);
    expect(m.attachments[0].id).toBe(kept.id);
    await expectServes(m.attachments[1], gif);
    expect(botErrors).toEqual([]);
  });
});

type Part = { key: string; name: string; data: Buffer };
const parts = (n: number, data = gif) =>
  Array.from({ length: n }, (_, i) => ({ key: `files[${i}]`, name: `${i}.gif`, data }));

/** fetch + FormData, the shape @discordjs/rest sends: `payload_json` (when given) and `files[n]` parts. */
async function multipart(
  method: string,
  route: string,
  payload: unknown,
  files: Part[],
  auth?: string,
): Promise<{ status: number; body: { code: number; errors?: Record<string, unknown> } & Record<string, unknown> }> {
  const form = new FormData();
  if (payload !== undefined) form.append('payload_json', JSON.stringify(payload));
  for (const f of files) form.append(f.key, new Blob([new Uint8Array(f.data)]), f.name);
  const res = await fetch(`${t.api}/v10${route}`, { method, body: form, headers: auth ? { authorization: auth } : {} });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as never };
}

/** The same request against POST /channels/{id}/messages, as the bot. */
const messageRoute = (payload: unknown, files: Part[]) =>
  multipart('POST', `/channels/${t.seed.textChannelId}/messages`, payload, files, `Bot ${t.seed.token}`);

async function heldInteraction(): Promise<{ id: string; token: string }> {
  const before = held.length;
  expect((await invoke('raw')).status).toBe(204);
  await until(() => held.length > before, 'the raw interaction');
  return held[held.length - 1];
}

describe('refusals answer like the message route and leave the interaction unacknowledged', () => {
  let ix: { id: string; token: string };
  const callback = (payload: unknown, files: Part[]) =>
    multipart('POST', `/interactions/${ix.id}/${ix.token}/callback`, payload, files);
  const reply = { type: 4, data: { content: 'with a file', attachments: [{ id: 0, filename: 'ok.gif' }] } };

  beforeAll(async () => {
    ix = await heldInteraction();
  });

  it('more than 10 files: 40005, as the message route answers', async () => {
    const r = await callback(reply, parts(11));
    expect(r.status).toBe(413);
    expect(r.body.code).toBe(40005);
    const m = await messageRoute({ content: 'x' }, parts(11));
    expect([m.status, m.body.code]).toEqual([r.status, r.body.code]);
  });

  it('a file over the upload limit: 40005, as the message route answers', async () => {
    const big = [{ key: 'files[0]', name: 'big.bin', data: Buffer.alloc(MAX_UPLOAD + 1024, 7) }];
    const r = await callback(reply, big);
    expect([r.status, r.body.code]).toEqual([413, 40005]);
    const m = await messageRoute({ content: 'x' }, big);
    expect([m.status, m.body.code]).toEqual([r.status, r.body.code]);
  });

  it('an attachments[].id naming no part: 50035 on data.attachments[n].id', async () => {
    const r = await callback(
      { type: 4, data: { content: 'x', attachments: [{ id: 0 }, { id: 3, filename: 'nope.gif' }] } },
      parts(1),
    );
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(50035);
    expect(r.body.errors).toMatchObject({
      data: { attachments: { '1': { id: { _errors: [{ code: 'ATTACHMENT_NOT_FOUND' }] } } } },
    });
  });

  it('a malformed multipart body: the message route’s 400', async () => {
    const garbage = (route: string, auth?: string) =>
      fetch(`${t.api}/v10${route}`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=xyz', ...(auth ? { authorization: auth } : {}) },
        body: '--xyz\r\nContent-Disposition: form-data; name="files[0]"; filename="a.gif"\r\n\r\nGIF89a',
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as { code: number; errors?: Record<string, unknown> },
      }));
    const r = await garbage(`/interactions/${ix.id}/${ix.token}/callback`);
    const m = await garbage(`/channels/${t.seed.textChannelId}/messages`, `Bot ${t.seed.token}`);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(50035);
    expect(r.body.errors).toMatchObject({ files: { _errors: [{ code: 'BASE_TYPE_BAD_TYPE' }] } });
    expect(m).toEqual(r);
  });

  it('files without payload_json: 50035 (the callback body is required)', async () => {
    const r = await callback(undefined, parts(1));
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(50035);
    expect(r.body.errors).toHaveProperty('type._errors');
  });

  it('after every refusal the interaction still takes its one callback, with the file', async () => {
    const r = await callback(reply, parts(1));
    expect(r.status).toBe(204);
    const f = await user.next(
      msg('MESSAGE_CREATE', (m) => m.content === 'with a file'),
      'reply',
    );
    expect((f.d as Msg).attachments.map((a) => a.filename)).toEqual(['ok.gif']);
    await expectServes((f.d as Msg).attachments[0], gif);
  });

  it('follow-ups and edits refuse too many files, too large, and unknown attachment ids', async () => {
    const hook = `/webhooks/${t.seed.applicationId}/${ix.token}`;
    const many = await multipart('POST', hook, { content: 'x' }, parts(11));
    expect([many.status, many.body.code]).toEqual([413, 40005]);
    const big = [{ key: 'files[0]', name: 'big.bin', data: Buffer.alloc(MAX_UPLOAD + 1024, 7) }];
    const large = await multipart('PATCH', `${hook}/messages/@original`, { content: 'x' }, big);
    expect([large.status, large.body.code]).toEqual([413, 40005]);
    const unknownFollowUp = await multipart('POST', hook, { content: 'x', attachments: [{ id: 1 }] }, parts(1));
    expect(unknownFollowUp.status).toBe(400);
    expect(unknownFollowUp.body.errors).toMatchObject({ attachments: { '0': { id: { _errors: [{}] } } } });
    // On an edit, an id is either a part or one of the message's attachments; a snowflake of neither is refused.
    const unknownEdit = await multipart(
      'PATCH',
      `${hook}/messages/@original`,
      { attachments: [{ id: t.seed.textChannelId }] },
      [],
    );
    expect([unknownEdit.status, unknownEdit.body.code]).toEqual([400, 50035]);
    const orig = (await userCall(t, 'GET', `/channels/${t.seed.textChannelId}/messages?limit=5`))
      .body as unknown as Msg[];
    expect(orig.find((m) => m.content === 'with a file')?.attachments).toHaveLength(1);
  });
});
