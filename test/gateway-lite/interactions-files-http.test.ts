import fs from 'node:fs';
import path from 'node:path';
import { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { InteractionResponseType } from 'discord-interactions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from './rest-helpers.ts';
import {
  BusTap,
  botRest,
  invokeCommand,
  json,
  startHttpApp,
  startInteractionsNode,
  type HttpApp,
} from './interactions-helpers.ts';
import { startTestMediaProxy, type TestMediaProxy } from './media-proxy-helper.ts';

/**
 * An HTTP interactions app (Discord's `discord-interactions` package verifies the signature) answers deferred, then —
 * as serverless apps do — sends its follow-up with a file through the webhook token with @discordjs/rest (multipart,
 * no bot token): the loading message becomes the follow-up, carrying the attachment the media proxy serves.
 */
const jpg = fs.readFileSync(path.resolve(import.meta.dirname, '../../fixtures/images/photo.jpg'));
let proxy: TestMediaProxy;
let t: TestNode;
let tap: BusTap;
let app: HttpApp;
let commandId: string;
let followUp: Promise<unknown> | null = null;

beforeAll(async () => {
  proxy = await startTestMediaProxy('gl-ixfh');
  t = await startInteractionsNode({ GATEWAY_LITE_MEDIA_PROXY_URL: proxy.url });
  tap = new BusTap(t);
  const me = (await botRest(t).get(Routes.currentApplication())) as { verify_key: string };
  app = await startHttpApp(me.verify_key, (i, res) => {
    json(res, { type: InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE });
    const hook = new REST({ api: t.api, version: '10' });
    followUp = hook.post(Routes.webhook(String(i.application_id), String(i.token)), {
      auth: false,
      body: { content: 'rendered', attachments: [{ id: 0, description: 'the render' }] },
      files: [{ name: 'render.jpg', data: jpg, contentType: 'image/jpeg' }],
    });
  });
  await botRest(t).patch(Routes.currentApplication(), { body: { interactions_endpoint_url: app.url } });
  const [cmd] = (await botRest(t).put(Routes.applicationGuildCommands(t.seed.applicationId, t.seed.guildId), {
    body: [{ name: 'render', description: 'Renders a picture' }],
  })) as Array<{ id: string }>;
  commandId = cmd.id;
});

afterAll(async () => {
  tap.close();
  await app.close();
  await t.close();
  await proxy.close();
});

interface Att {
  filename: string;
  description?: string;
  size: number;
  url: string;
  width: number;
}

describe('HTTP app: deferred, then a follow-up with a file', () => {
  it('the follow-up fills the loading message with the attachment, which the media proxy serves', async () => {
    const r = await invokeCommand(t, commandId);
    expect(r.body).toMatchObject({ outcome: 'acknowledged' });
    const loading = await tap.loading(r.body!.id);
    expect(loading.flags & 128).toBe(128);
    const answered = (await followUp) as { id: string; attachments: Att[] };
    expect(answered.id).toBe(loading.id);
    const filled = await tap.next((e) => e.t === 'MESSAGE_UPDATE' && (e.d as { id: string }).id === answered.id);
    const m = filled.d as { content: string; flags: number; attachments: Att[] };
    expect(m).toMatchObject({ content: 'rendered', flags: 0 });
    expect(m.attachments).toHaveLength(1);
    const [a] = m.attachments;
    expect(a).toMatchObject({ filename: 'render.jpg', description: 'the render', size: jpg.length });
    expect(a.url.startsWith(proxy.url)).toBe(true);
    // `url` is the file as uploaded, byte for byte.
    const res = await fetch(a.url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(jpg)).toBe(true);
    const stored = await t.node.storage.getMessage(t.seed.textChannelId, answered.id);
    expect(stored?.attachments.map((x) => x.url)).toEqual([a.url]);
  });
});
