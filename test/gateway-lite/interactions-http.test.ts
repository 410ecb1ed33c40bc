import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Routes } from 'discord-api-types/v10';
import {
  InteractionResponseFlags,
  InteractionResponseType,
  InteractionType,
  MessageComponentTypes,
} from 'discord-interactions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from './rest-helpers.ts';
import {
  BusTap,
  PING_COMMAND,
  botRest,
  invokeCommand,
  json,
  startHttpApp,
  startInteractionsNode,
  userCall,
  type HttpApp,
} from './interactions-helpers.ts';

/**
 * An HTTP interactions app built on Discord's own `discord-interactions` package: saving its URL, receiving a
 * command over signed HTTP and answering inline and deferred + follow-up, autocomplete (type 8) and a modal (type 9)
 * whose submit comes back over HTTP; refusals at save time.
 */
let t: TestNode;
let tap: BusTap;
let app: HttpApp;
let mode: 'inline' | 'deferred' | 'slow' | 'error' = 'inline';
const followUps: Array<Promise<Response>> = [];
let commandId: string;
const commandIds = new Map<string, string>();

beforeAll(async () => {
  t = await startInteractionsNode();
  tap = new BusTap(t);
  const me = (await botRest(t).get(Routes.currentApplication())) as { verify_key: string };
  app = await startHttpApp(me.verify_key, async (i, res) => {
    const data = i.data as { name: string; options?: Array<{ name: string; value: unknown }> };
    if (i.type === InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE) {
      const typed = String(data.options?.find((o) => (o as { focused?: boolean }).focused)?.value);
      return json(res, {
        type: InteractionResponseType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT,
        data: { choices: [`${typed}1`, `${typed}2`].map((v) => ({ name: v, value: v })) },
      });
    }
    if (i.type === InteractionType.MODAL_SUBMIT) {
      const rows = (i.data as { components: Array<{ components: Array<{ value: string }> }> }).components;
      return json(res, {
        type: InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE,
        data: { content: `submitted over HTTP: ${rows[0].components[0].value}` },
      });
    }
    if (data.name === 'survey')
      return json(res, {
        type: InteractionResponseType.MODAL,
        data: {
          custom_id: 'survey',
          title: 'Survey',
          components: [
            {
              type: MessageComponentTypes.ACTION_ROW,
              components: [{ type: MessageComponentTypes.INPUT_TEXT, custom_id: 'answer', label: 'Answer', style: 1 }],
            },
          ],
        },
      });
    if (mode === 'inline')
      return json(res, {
        type: InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE,
        data: { content: `pong ${data.options?.[0]?.value}` },
      });
    if (mode === 'deferred') {
      json(res, { type: InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE });
      // The work happens after answering, then goes out through the webhook token, as serverless apps do.
      const hook = `${t.api}/v10/webhooks/${i.application_id}/${i.token}`;
      const send = (content: string, flags?: number) =>
        fetch(hook, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ content, ...(flags ? { flags } : {}) }),
        });
      followUps.push(
        (async () => {
          await new Promise((r) => setTimeout(r, 50));
          await send('done thinking');
          return send('and one more thing', InteractionResponseFlags.EPHEMERAL);
        })(),
      );
      return;
    }
    if (mode === 'error') return void res.writeHead(500).end('boom');
    // slow: never answers within the deadline.
    setTimeout(() => json(res, { type: 4, data: { content: 'too late' } }), 4500);
  });
  const saved = (await botRest(t).patch(Routes.currentApplication(), {
    body: { interactions_endpoint_url: app.url },
  })) as { interactions_endpoint_url: string };
  expect(saved.interactions_endpoint_url).toBe(app.url);
  expect(app.refused).toBe(1); // the save-time bad-signature probe
  const cmds = (await botRest(t).put(Routes.applicationGuildCommands(t.seed.applicationId, t.seed.guildId), {
    body: [
      PING_COMMAND,
      {
        name: 'suggest',
        description: 'Autocompleted over HTTP',
        options: [{ type: 3, name: 'text', description: 'Text', autocomplete: true }],
      },
      { name: 'survey', description: 'A modal over HTTP' },
    ],
  })) as Array<{ id: string; name: string }>;
  commandId = cmds[0].id;
  for (const c of cmds) commandIds.set(c.name, c.id);
});

afterAll(async () => {
  tap.close();
  await app.close();
  await t.close();
});

describe('HTTP interactions endpoint (discord-interactions verifyKey)', () => {
  it('receives a signed command and answers inline; the message carries interaction_metadata', async () => {
    mode = 'inline';
    const r = await invokeCommand(t, commandId, [{ name: 'word', type: 3, value: 'hi' }]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'acknowledged' });
    const got = app.received.at(-1)!;
    expect(got).toMatchObject({
      type: 2,
      application_id: t.seed.applicationId,
      guild_id: t.seed.guildId,
      channel_id: t.seed.textChannelId,
      version: 1,
      locale: 'en-US',
      data: { id: commandId, name: 'ping', type: 1, options: [{ name: 'word', type: 3, value: 'hi' }] },
      member: { user: { id: t.seed.ownerId } },
      channel: { id: t.seed.textChannelId, type: 0 },
    });
    expect(typeof got.token).toBe('string');
    expect(got.app_permissions).toMatch(/^\d+$/);
    const created = await tap.next(
      (e) => e.t === 'MESSAGE_CREATE' && (e.d as { content: string }).content === 'pong hi',
    );
    const m = created.d as Record<string, unknown>;
    expect(m).toMatchObject({
      type: 20,
      author: { id: t.seed.botId, bot: true },
      application_id: t.seed.applicationId,
      webhook_id: t.seed.applicationId,
      interaction_metadata: { id: r.body!.id, type: 2, name: 'ping', user: { id: t.seed.ownerId } },
    });
    expect(created.userIds).toBeUndefined();
    const history = (await botRest(t).get(Routes.channelMessages(t.seed.textChannelId))) as Array<{ id: string }>;
    expect(history.some((h) => h.id === m.id)).toBe(true);
    expect(await tap.next((e) => e.t === 'INTERACTION_SUCCESS')).toMatchObject({ userIds: [t.seed.ownerId] });
  });

  it('answers deferred, then the first follow-up fills the loading message and an ephemeral one reaches only the user', async () => {
    mode = 'deferred';
    const r = await invokeCommand(t, commandId, [{ name: 'word', type: 3, value: 'yo' }]);
    expect(r.body).toMatchObject({ outcome: 'acknowledged' });
    const loading = await tap.loading(r.body!.id);
    expect(loading.flags & 128).toBe(128);
    const second = await followUps.at(-1)!;
    expect(second.status).toBe(200);
    const eph = (await second.json()) as { flags: number; content: string };
    expect(eph).toMatchObject({ content: 'and one more thing', flags: 64 });
    const filled = await tap.next((e) => e.t === 'MESSAGE_UPDATE' && (e.d as { id: string }).id === loading.id);
    expect(filled.d).toMatchObject({ content: 'done thinking', flags: 0 });
    const ephEvent = await tap.next(
      (e) => e.t === 'MESSAGE_CREATE' && (e.d as { content: string }).content === 'and one more thing',
    );
    expect(ephEvent.userIds).toEqual([t.seed.ownerId]);
    const history = (await botRest(t).get(Routes.channelMessages(t.seed.textChannelId))) as Array<{ content: string }>;
    expect(history.some((h) => h.content === 'and one more thing')).toBe(false); // ephemeral: never in history
  });

  it('an endpoint answering 500 or not within the deadline fails the interaction for the user, and the next one works', async () => {
    mode = 'error';
    const failed = await invokeCommand(t, commandId, [{ name: 'word', type: 3, value: 'hi' }]);
    expect(failed.body).toMatchObject({ outcome: 'failed', reason: 'endpoint_status' });
    mode = 'slow';
    const slow = await invokeCommand(t, commandId, [{ name: 'word', type: 3, value: 'hi' }]);
    expect(slow.body).toMatchObject({ outcome: 'failed', reason: 'endpoint_timeout' });
    const told = await tap.next((e) => e.t === 'INTERACTION_FAILURE' && (e.d as { id: string }).id === slow.body!.id);
    expect(told.userIds).toEqual([t.seed.ownerId]);
    mode = 'inline';
    const ok = await invokeCommand(t, commandId, [{ name: 'word', type: 3, value: 'yo' }]);
    expect(ok.body).toMatchObject({ outcome: 'acknowledged' });
  });
});

describe('autocomplete and modals over HTTP', () => {
  const where = () => ({
    application_id: t.seed.applicationId,
    guild_id: t.seed.guildId,
    channel_id: t.seed.textChannelId,
  });

  it('an inline type 8 answer reaches the typing user', async () => {
    const r = await userCall(t, 'POST', '/interactions?wait=true', {
      type: 4,
      ...where(),
      nonce: 'http-ac',
      data: { id: commandIds.get('suggest'), options: [{ name: 'text', type: 3, value: 'ab', focused: true }] },
    });
    const choices = [
      { name: 'ab1', value: 'ab1' },
      { name: 'ab2', value: 'ab2' },
    ];
    expect(r.body).toMatchObject({ outcome: 'acknowledged', choices });
    expect(app.received.at(-1)).toMatchObject({ type: 4, data: { name: 'suggest' } });
    const ev = await tap.next((e) => e.t === 'APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE');
    expect(ev).toMatchObject({ userIds: [t.seed.ownerId], d: { nonce: 'http-ac', choices } });
  });

  it('an inline type 9 answer shows the modal; its submit is delivered over HTTP and answered', async () => {
    const r = await invokeCommand(t, commandIds.get('survey')!);
    expect(r.body).toMatchObject({ outcome: 'acknowledged' });
    const shown = await tap.next((e) => e.t === 'INTERACTION_MODAL_CREATE');
    expect(shown).toMatchObject({
      userIds: [t.seed.ownerId],
      d: { id: r.body!.id, custom_id: 'survey', title: 'Survey' },
    });
    const submit = await userCall(t, 'POST', '/interactions?wait=true', {
      type: 5,
      ...where(),
      data: {
        id: r.body!.id,
        custom_id: 'survey',
        components: [{ type: 1, components: [{ type: 4, custom_id: 'answer', value: '42' }] }],
      },
    });
    expect(submit.body).toMatchObject({ outcome: 'acknowledged' });
    expect(app.received.at(-1)).toMatchObject({
      type: 5,
      data: { custom_id: 'survey', components: [{ type: 1, components: [{ custom_id: 'answer', value: '42' }] }] },
    });
    await tap.next(
      (e) => e.t === 'MESSAGE_CREATE' && (e.d as { content: string }).content === 'submitted over HTTP: 42',
    );
  });
});

describe('saving an interactions endpoint URL', () => {
  const save = (url: string) =>
    botRest(t)
      .patch(Routes.currentApplication(), { body: { interactions_endpoint_url: url } })
      .catch((e: unknown) => e as { status: number; code: number; rawError: { errors: unknown } });

  it('refuses an endpoint that answers PONG without verifying signatures', async () => {
    const lax = http.createServer((_req, res) => json(res, { type: 1 }));
    await new Promise<void>((r) => lax.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(lax.address() as AddressInfo).port}/`;
    const err = (await save(url)) as { status: number; code: number; rawError: { errors: Record<string, unknown> } };
    lax.close();
    expect(err.status).toBe(400);
    expect(err.code).toBe(50035);
    expect(err.rawError.errors).toMatchObject({
      interactions_endpoint_url: { _errors: [{ code: 'APPLICATION_INTERACTIONS_ENDPOINT_URL_INVALID' }] },
    });
    const me = (await botRest(t).get(Routes.currentApplication())) as { interactions_endpoint_url: string };
    expect(me.interactions_endpoint_url).toBe(app.url); // the working URL stays
  });

  it('refuses URLs at blocked addresses (private, link-local, IPv6 loopback) without contacting them', async () => {
    for (const url of ['http://10.1.2.3/i', 'http://169.254.169.254/latest', 'http://[::1]:9/i', 'ftp://127.0.0.1/']) {
      const err = (await save(url)) as {
        code: number;
        rawError: { errors: Record<string, { _errors: Array<{ message: string }> }> };
      };
      expect(err.code).toBe(50035);
      expect(err.rawError.errors.interactions_endpoint_url._errors[0].message).toMatch(/blocked|scheme/);
    }
  });
});
