import { Routes } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from './rest-helpers.ts';
import { metric } from './rest-helpers.ts';
import {
  BusTap,
  PING_COMMAND,
  botRest,
  invokeCommand,
  startInteractionsNode,
  userCall,
} from './interactions-helpers.ts';

/**
 * The refusals of the interaction lifecycle, with the bot side speaking plain HTTP to the callback and webhook routes
 * and hearing INTERACTION_CREATE on the node's dispatch bus (the gateway's source): each case gets Discord's error
 * and leaves the rest working.
 */
let t: TestNode;
let tap: BusTap;
let commandId: string;

interface Delivered {
  id: string;
  token: string;
  application_id: string;
}

const post = (path: string, body: unknown) =>
  fetch(`${t.api}/v10${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const codeOf = async (r: Response) => ((await r.json()) as { code: number }).code;

/** Invoke (the outcome settles later) and return the interaction the bot received. */
async function deliveredFor(): Promise<{ i: Delivered; outcome: Promise<{ body: Record<string, unknown> | null }> }> {
  const outcome = invokeCommand(t, commandId, [{ name: 'word', type: 3, value: 'hi' }]);
  const ev = await tap.next((e) => e.t === 'INTERACTION_CREATE' && !used.has((e.d as Delivered).id));
  const i = ev.d as Delivered;
  used.add(i.id);
  return { i, outcome };
}
const used = new Set<string>();

beforeAll(async () => {
  t = await startInteractionsNode({ GATEWAY_LITE_INTERACTIONS_TOKEN_TTL_MS: '4000' });
  tap = new BusTap(t);
  const cmds = (await botRest(t).put(Routes.applicationGuildCommands(t.seed.applicationId, t.seed.guildId), {
    body: [PING_COMMAND],
  })) as Array<{ id: string }>;
  commandId = cmds[0].id;
});
afterAll(async () => {
  tap.close();
  await t.close();
});

describe('interaction refusals', () => {
  it('delivers INTERACTION_CREATE to the bot only, and a second acknowledgement is 40060', async () => {
    const { i, outcome } = await deliveredFor();
    const ev = tap.events.find((e) => e.t === 'INTERACTION_CREATE' && (e.d as Delivered).id === i.id)!;
    expect(ev).toMatchObject({ intent: 0, guildId: t.seed.guildId, userIds: [t.seed.botId] });
    const first = await post(`/interactions/${i.id}/${i.token}/callback?with_response=false`, {
      type: 4,
      data: { content: 'first' },
    });
    expect(first.status).toBe(204);
    const second = await post(`/interactions/${i.id}/${i.token}/callback?with_response=false`, {
      type: 4,
      data: { content: 'second' },
    });
    expect(second.status).toBe(400);
    expect(await codeOf(second)).toBe(40060);
    expect((await outcome).body).toMatchObject({ outcome: 'acknowledged' });
    const history = (await botRest(t).get(Routes.channelMessages(t.seed.textChannelId))) as Array<{ content: string }>;
    expect(history.filter((m) => m.content === 'second')).toHaveLength(0);
    expect(await metric(t.node, 'resound_interactions_refused_total', { code: '40060' })).toBe(1);
  });

  it('a callback after the 3 s deadline is 10062 and the user was told the interaction failed', async () => {
    const { i, outcome } = await deliveredFor();
    expect((await outcome).body).toMatchObject({ outcome: 'failed', reason: 'no_ack' });
    const told = await tap.next((e) => e.t === 'INTERACTION_FAILURE' && (e.d as { id: string }).id === i.id);
    expect(told.userIds).toEqual([t.seed.ownerId]);
    const late = await post(`/interactions/${i.id}/${i.token}/callback`, { type: 4, data: { content: 'late' } });
    expect(late.status).toBe(404);
    expect(await codeOf(late)).toBe(10062);
    // Its webhook never came to life either.
    const hook = await post(`/webhooks/${i.application_id}/${i.token}`, { content: 'late follow-up' });
    expect(await codeOf(hook)).toBe(10015);
  });

  it('an expired token is refused on every webhook route (50027) and the callback (10062)', async () => {
    const { i, outcome } = await deliveredFor();
    const ok = await post(`/interactions/${i.id}/${i.token}/callback`, { type: 5 });
    expect(ok.status).toBe(204);
    expect((await outcome).body).toMatchObject({ outcome: 'acknowledged' });
    const live = await fetch(`${t.api}/v10/webhooks/${i.application_id}/${i.token}/messages/@original`);
    expect(live.status).toBe(200);
    await new Promise((r) => setTimeout(r, 4300)); // GATEWAY_LITE_INTERACTIONS_TOKEN_TTL_MS=4000 on this node
    const follow = await post(`/webhooks/${i.application_id}/${i.token}`, { content: 'too late' });
    expect(follow.status).toBe(401);
    expect(await codeOf(follow)).toBe(50027);
    const edit = await fetch(`${t.api}/v10/webhooks/${i.application_id}/${i.token}/messages/@original`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'x' }),
    });
    expect(await codeOf(edit)).toBe(50027);
    expect(
      await codeOf(await post(`/interactions/${i.id}/${i.token}/callback`, { type: 4, data: { content: 'x' } })),
    ).toBe(10062);
  });

  it('refuses forged tokens, bad callback payloads (without using the acknowledgement) and bot invocations', async () => {
    const { i, outcome } = await deliveredFor();
    const forged = Buffer.from(`interaction:${i.id}:not-the-secret`).toString('base64url');
    expect(
      await codeOf(await post(`/interactions/${i.id}/${forged}/callback`, { type: 4, data: { content: 'x' } })),
    ).toBe(10062);
    const bad = await post(`/interactions/${i.id}/${i.token}/callback`, {
      type: 4,
      data: { content: 'x'.repeat(2001) },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      code: 50035,
      errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } },
    });
    const wrongType = await post(`/interactions/${i.id}/${i.token}/callback`, { type: 7, data: { content: 'x' } });
    expect(await codeOf(wrongType)).toBe(50035); // UPDATE_MESSAGE is for components only
    const good = await post(`/interactions/${i.id}/${i.token}/callback`, { type: 4, data: { content: 'fine' } });
    expect(good.status).toBe(204);
    expect((await outcome).body).toMatchObject({ outcome: 'acknowledged' });

    const asBot = await fetch(`${t.api}/v10/interactions`, {
      method: 'POST',
      headers: { authorization: `Bot ${t.seed.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 2,
        application_id: t.seed.applicationId,
        guild_id: t.seed.guildId,
        channel_id: t.seed.textChannelId,
        data: { id: commandId },
      }),
    });
    expect(asBot.status).toBe(403);
    expect(await codeOf(asBot)).toBe(20001);
    const noUser = await fetch(`${t.api}/v10/interactions`, {
      method: 'POST',
      headers: { authorization: 'Bot ' + t.seed.userToken },
    });
    expect(noUser.status).toBe(401);
  });

  it('a button on the reply reaches the bot as a component interaction and UPDATE_MESSAGE edits the message', async () => {
    const { i } = await deliveredFor();
    const res = await post(`/interactions/${i.id}/${i.token}/callback?with_response=true`, {
      type: 4,
      data: {
        content: 'click me',
        components: [{ type: 1, components: [{ type: 2, style: 1, label: 'Go', custom_id: 'go' }] }],
      },
    });
    expect(res.status).toBe(200);
    const cb = (await res.json()) as {
      interaction: { response_message_id: string };
      resource: { message: { components: unknown[] } };
    };
    const messageId = cb.interaction.response_message_id;
    expect(cb.resource.message.components).toHaveLength(1);
    const click = userCall(t, 'POST', '/interactions?wait=true', {
      type: 3,
      application_id: t.seed.applicationId,
      guild_id: t.seed.guildId,
      channel_id: t.seed.textChannelId,
      message_id: messageId,
      data: { component_type: 2, custom_id: 'go' },
    });
    const ev = await tap.next((e) => e.t === 'INTERACTION_CREATE' && (e.d as { type: number }).type === 3);
    const ci = ev.d as Delivered & { data: unknown; message: { id: string } };
    expect(ci.data).toEqual({ custom_id: 'go', component_type: 2 });
    expect(ci.message.id).toBe(messageId);
    const upd = await post(`/interactions/${ci.id}/${ci.token}/callback`, {
      type: 7,
      data: { content: 'clicked', components: [] },
    });
    expect(upd.status).toBe(204);
    expect((await click).body).toMatchObject({ outcome: 'acknowledged' });
    const edited = await tap.next((e) => e.t === 'MESSAGE_UPDATE' && (e.d as { id: string }).id === messageId);
    expect(edited.d).toMatchObject({ content: 'clicked', components: [] });
    const unknownButton = await userCall(t, 'POST', '/interactions', {
      type: 3,
      application_id: t.seed.applicationId,
      guild_id: t.seed.guildId,
      channel_id: t.seed.textChannelId,
      message_id: messageId,
      data: { component_type: 2, custom_id: 'go' },
    });
    expect(unknownButton.body).toMatchObject({ code: 50035, errors: { data: { custom_id: {} } } });
  });

  it('USER and MESSAGE commands carry target_id and resolved; a component answered with type 6 then edits @original', async () => {
    const path = Routes.applicationGuildCommands(t.seed.applicationId, t.seed.guildId);
    const cmds = (await botRest(t).put(path, {
      body: [PING_COMMAND, { name: 'Wave', type: 2 }, { name: 'Quote', type: 3 }],
    })) as Array<{ id: string; name: string }>;
    const id = (n: string) => cmds.find((c) => c.name === n)!.id;
    const target = (await botRest(t).post(Routes.channelMessages(t.seed.textChannelId), {
      body: { content: 'quote me' },
    })) as { id: string };

    const wave = invokeCommand(t, id('Wave'), undefined, { target_id: t.seed.ownerId });
    const w = (
      await tap.next((e) => e.t === 'INTERACTION_CREATE' && (e.d as { data: { name: string } }).data.name === 'Wave')
    ).d as Delivered & { data: Record<string, unknown> };
    expect(w.data).toMatchObject({
      type: 2,
      target_id: t.seed.ownerId,
      resolved: { users: { [t.seed.ownerId]: { username: 'owner' } } },
    });
    expect(w.data.resolved).toHaveProperty(['members', t.seed.ownerId]);
    await post(`/interactions/${w.id}/${w.token}/callback`, {
      type: 4,
      data: {
        content: 'wave back',
        components: [{ type: 1, components: [{ type: 2, style: 2, label: 'ok', custom_id: 'ok' }] }],
      },
    });
    expect((await wave).body).toMatchObject({ outcome: 'acknowledged' });

    const quote = invokeCommand(t, id('Quote'), undefined, { target_id: target.id });
    const q = (
      await tap.next((e) => e.t === 'INTERACTION_CREATE' && (e.d as { data: { name: string } }).data.name === 'Quote')
    ).d as Delivered & { data: Record<string, unknown> };
    expect(q.data).toMatchObject({
      type: 3,
      target_id: target.id,
      resolved: { messages: { [target.id]: { content: 'quote me' } } },
    });
    const reply = (await (
      await post(`/interactions/${q.id}/${q.token}/callback?with_response=true`, {
        type: 4,
        data: { content: '> quote me' },
      })
    ).json()) as { resource: { message: { type: number; interaction_metadata: { command_type: number } } } };
    expect(reply.resource.message).toMatchObject({ type: 23, interaction_metadata: { command_type: 3 } });
    expect((await quote).body).toMatchObject({ outcome: 'acknowledged' });

    // Type 6 on the "ok" button of the wave reply, then the component's message edited through @original.
    const waveMsg = (
      await tap.next((e) => e.t === 'MESSAGE_CREATE' && (e.d as { content: string }).content === 'wave back')
    ).d as { id: string };
    const click = userCall(t, 'POST', '/interactions?wait=true', {
      type: 3,
      application_id: t.seed.applicationId,
      guild_id: t.seed.guildId,
      channel_id: t.seed.textChannelId,
      message_id: waveMsg.id,
      data: { component_type: 2, custom_id: 'ok' },
    });
    const c = (
      await tap.next(
        (e) => e.t === 'INTERACTION_CREATE' && (e.d as { data: { custom_id?: string } }).data.custom_id === 'ok',
      )
    ).d as Delivered;
    for (const i of [w, q, c]) used.add(i.id); // keep deliveredFor() from picking these up
    expect((await post(`/interactions/${c.id}/${c.token}/callback`, { type: 6 })).status).toBe(204);
    expect((await click).body).toMatchObject({ outcome: 'acknowledged' });
    const edit = await fetch(`${t.api}/v10/webhooks/${c.application_id}/${c.token}/messages/@original`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'waved', components: [] }),
    });
    expect(edit.status).toBe(200);
    expect(await edit.json()).toMatchObject({ id: waveMsg.id, content: 'waved', components: [] });
  });
});
