import { Routes } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from './rest-helpers.ts';
import { metric } from './rest-helpers.ts';
import { BusTap, botRest, startInteractionsNode, userCall } from './interactions-helpers.ts';

/**
 * Autocomplete (interaction type 4 → callback 8) and modals (callback 9 → interaction type 5) with the bot side
 * speaking plain HTTP to the callback route and hearing INTERACTION_CREATE on the node's bus: the flows, and every
 * refusal — bad choices, a callback type the interaction does not take, a submit for a modal never shown, a missing
 * or too short input — answered with Discord's errors without using up the acknowledgement.
 */
let t: TestNode;
let tap: BusTap;
const ids = new Map<string, string>();
const used = new Set<string>();

interface Delivered {
  id: string;
  token: string;
  type: number;
  data: Record<string, unknown>;
  message?: { id: string };
}

const callback = (i: Delivered, body: unknown) =>
  fetch(`${t.api}/v10/interactions/${i.id}/${i.token}/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const errorOf = async (r: Response) => (await r.json()) as { code: number; errors?: Record<string, unknown> };

const where = () => ({
  application_id: t.seed.applicationId,
  guild_id: t.seed.guildId,
  channel_id: t.seed.textChannelId,
});
const typing = (name: string, options: unknown[], nonce: string) =>
  userCall(t, 'POST', '/interactions?wait=true', { type: 4, ...where(), nonce, data: { id: ids.get(name), options } });
const invoke = (name: string, nonce: string) =>
  userCall(t, 'POST', '/interactions?wait=true', { type: 2, ...where(), nonce, data: { id: ids.get(name) } });
const submit = (data: Record<string, unknown>, nonce = 'submit') =>
  userCall(t, 'POST', '/interactions?wait=true', { type: 5, ...where(), nonce, data });
const row = (custom_id: string, value: string) => ({ type: 1, components: [{ type: 4, custom_id, value }] });

/** The next interaction the bot received that no test has taken yet. */
async function next(type: number): Promise<Delivered> {
  const ev = await tap.next((e) => e.t === 'INTERACTION_CREATE' && !used.has((e.d as Delivered).id));
  const i = ev.d as Delivered;
  used.add(i.id);
  expect(i.type).toBe(type);
  return i;
}

const MODAL = {
  custom_id: 'feedback',
  title: 'Tell us',
  components: [
    { type: 1, components: [{ type: 4, custom_id: 'name', label: 'Name', style: 1, min_length: 2, max_length: 20 }] },
    { type: 1, components: [{ type: 4, custom_id: 'more', label: 'More', style: 2, required: false }] },
  ],
};

beforeAll(async () => {
  t = await startInteractionsNode();
  tap = new BusTap(t);
  const cmds = (await botRest(t).put(Routes.applicationGuildCommands(t.seed.applicationId, t.seed.guildId), {
    body: [
      {
        name: 'find',
        description: 'Autocompletes',
        options: [
          { type: 3, name: 'query', description: 'Text', required: true, autocomplete: true },
          { type: 4, name: 'count', description: 'Integer', autocomplete: true },
          { type: 10, name: 'ratio', description: 'Number', autocomplete: true },
          { type: 3, name: 'plain', description: 'No autocomplete' },
        ],
      },
      { name: 'form', description: 'Shows a modal' },
      { name: 'button', description: 'A button that shows a modal' },
    ],
  })) as Array<{ id: string; name: string }>;
  for (const c of cmds) ids.set(c.name, c.id);
});
afterAll(async () => {
  tap.close();
  await t.close();
});

describe('autocomplete', () => {
  it('delivers the focused partial text; only callback 8 answers it, with valid choices; the user gets them', async () => {
    const outcome = typing('find', [{ name: 'query', type: 3, value: 'ab', focused: true }], 'ac-1');
    const i = await next(4);
    expect(i.data).toMatchObject({
      id: ids.get('find'),
      name: 'find',
      type: 1,
      options: [{ name: 'query', type: 3, value: 'ab', focused: true }],
    });
    for (const type of [4, 5, 6, 7, 9]) {
      const r = await callback(i, { type, data: { content: 'x' } });
      expect(r.status).toBe(400);
      expect(await errorOf(r)).toMatchObject({
        code: 50035,
        errors: { type: { _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID' }] } },
      });
    }
    const tooMany = Array.from({ length: 26 }, (_, n) => ({ name: `c${n}`, value: `v${n}` }));
    const bad = [
      [{ choices: tooMany }, { choices: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } }],
      [
        { choices: [{ name: '', value: 'x' }] },
        { choices: { 0: { name: { _errors: [{ code: 'BASE_TYPE_MIN_LENGTH' }] } } } },
      ],
      [{ choices: [{ name: 'n'.repeat(101), value: 'x' }] }, { choices: { 0: { name: {} } } }],
      [
        { choices: [{ name: 'ok', value: 3 }] },
        { choices: { 0: { value: { _errors: [{ code: 'STRING_TYPE_CONVERT' }] } } } },
      ],
      [{}, { choices: { _errors: [{ code: 'BASE_TYPE_REQUIRED' }] } }],
    ] as const;
    for (const [data, errors] of bad) {
      const r = await callback(i, { type: 8, data });
      expect(r.status).toBe(400);
      expect(await errorOf(r)).toMatchObject({ code: 50035, errors });
    }
    const choices = [
      { name: 'abacus', value: 'abacus' },
      { name: 'abbey', value: 'abbey' },
    ];
    expect((await callback(i, { type: 8, data: { choices } })).status).toBe(204);
    expect((await outcome).body).toMatchObject({ nonce: 'ac-1', outcome: 'acknowledged', choices });
    const ev = await tap.next((e) => e.t === 'APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE');
    expect(ev).toMatchObject({ userIds: [t.seed.ownerId], intent: 0, d: { nonce: 'ac-1', choices } });
    expect(tap.events.some((e) => e.t === 'INTERACTION_SUCCESS' && (e.d as { id: string }).id === i.id)).toBe(false);
    // An autocomplete has no webhook: no follow-ups.
    const hook = await fetch(`${t.api}/v10/webhooks/${t.seed.applicationId}/${i.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'no' }),
    });
    expect((await errorOf(hook)).code).toBe(10015);
    expect(await metric(t.node, 'resound_interactions_refused_total', { code: '50035' })).toBeGreaterThanOrEqual(10);
  });

  it('integer and number options: the partial value is a string, choices must be of the option type; invalid unfocused options are left out', async () => {
    const outcome = typing(
      'find',
      [
        { name: 'query', type: 3, value: 'x' },
        { name: 'count', type: 4, value: '4', focused: true },
      ],
      'ac-int',
    );
    const i = await next(4);
    expect(i.data.options).toEqual([
      { name: 'query', type: 3, value: 'x' },
      { name: 'count', type: 4, value: '4', focused: true },
    ]);
    const frac = await callback(i, { type: 8, data: { choices: [{ name: 'four and a half', value: 4.5 }] } });
    expect(await errorOf(frac)).toMatchObject({
      errors: { choices: { 0: { value: { _errors: [{ code: 'NUMBER_TYPE_COERCE' }] } } } },
    });
    expect((await callback(i, { type: 8, data: { choices: [{ name: 'forty', value: 40 }] } })).status).toBe(204);
    expect((await outcome).body).toMatchObject({ choices: [{ name: 'forty', value: 40 }] });

    // An invalid unfocused option is left out (Discord's documented behaviour), not refused.
    const ratio = typing(
      'find',
      [
        { name: 'count', type: 4, value: 2.5 },
        { name: 'ratio', type: 10, value: '0.', focused: true },
      ],
      'ac-num',
    );
    const n = await next(4);
    expect(n.data.options).toEqual([{ name: 'ratio', type: 10, value: '0.', focused: true }]);
    expect((await callback(n, { type: 8, data: { choices: [{ name: 'half', value: 0.5 }] } })).status).toBe(204);
    expect((await ratio).body).toMatchObject({ choices: [{ name: 'half', value: 0.5 }] });
  });

  it('refuses invocations without exactly one focused autocomplete option, and callback 8 on a command', async () => {
    const none = await typing('find', [{ name: 'query', type: 3, value: 'ab' }], 'ac-none');
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ code: 50035, errors: { data: { options: {} } } });
    const plain = await typing('find', [{ name: 'plain', type: 3, value: 'ab', focused: true }], 'ac-plain');
    expect(plain.body).toMatchObject({
      code: 50035,
      errors: {
        data: { options: { 0: { focused: { _errors: [{ code: 'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID' }] } } } },
      },
    });
    const two = await typing(
      'find',
      [
        { name: 'query', type: 3, value: 'a', focused: true },
        { name: 'count', type: 4, value: '1', focused: true },
      ],
      'ac-two',
    );
    expect(two.body).toMatchObject({ code: 50035, errors: { data: { options: { 1: { focused: {} } } } } });

    const cmd = invoke('form', 'cmd-8');
    const i = await next(2);
    const r = await callback(i, { type: 8, data: { choices: [] } });
    expect(await errorOf(r)).toMatchObject({ code: 50035, errors: { type: {} } });
    expect((await callback(i, { type: 4, data: { content: 'fine' } })).status).toBe(204);
    expect((await cmd).body).toMatchObject({ outcome: 'acknowledged' });
  });
});

describe('modals', () => {
  it('callback 9 shows the modal to the user; the submit is checked against it and reaches the bot', async () => {
    const cmd = invoke('form', 'form-1');
    const i = await next(2);
    const badModals = [
      [{ ...MODAL, title: 't'.repeat(46) }, { title: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } }],
      [{ ...MODAL, components: [] }, { components: { _errors: [{ code: 'BASE_TYPE_MIN_LENGTH' }] } }],
      [{ ...MODAL, components: Array(6).fill(MODAL.components[0]) }, { components: {} }],
      [{ ...MODAL, custom_id: 'c'.repeat(101) }, { custom_id: {} }],
      [
        { ...MODAL, components: [{ type: 1, components: [{ type: 4, custom_id: 'x', label: 'X', style: 3 }] }] },
        { components: { 0: {} } },
      ],
    ] as const;
    for (const [data, errors] of badModals) {
      const r = await callback(i, { type: 9, data });
      expect(r.status).toBe(400);
      expect(await errorOf(r)).toMatchObject({ code: 50035, errors });
    }
    expect((await callback(i, { type: 9, data: MODAL })).status).toBe(204);
    expect((await cmd).body).toMatchObject({ outcome: 'acknowledged' });
    const shown = await tap.next((e) => e.t === 'INTERACTION_MODAL_CREATE');
    expect(shown).toMatchObject({
      userIds: [t.seed.ownerId],
      d: {
        id: i.id,
        nonce: 'form-1',
        custom_id: 'feedback',
        title: 'Tell us',
        channel_id: t.seed.textChannelId,
        application: { id: t.seed.applicationId },
        components: MODAL.components,
      },
    });

    const never = await submit({ custom_id: 'never-shown', components: [row('name', 'x')] });
    expect(never.status).toBe(404);
    expect(never.body).toMatchObject({ code: 10062 });
    const wrongId = await submit({ id: t.seed.guildId, custom_id: 'feedback', components: [row('name', 'Ada')] });
    expect(wrongId.body).toMatchObject({ code: 10062 });
    const missing = await submit({ id: i.id, custom_id: 'feedback', components: [row('more', 'only this')] });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({
      code: 50035,
      errors: {
        data: { components: { 0: { components: { 0: { value: { _errors: [{ code: 'BASE_TYPE_REQUIRED' }] } } } } } },
      },
    });
    const short = await submit({ custom_id: 'feedback', components: [row('name', 'A')] });
    expect(short.body).toMatchObject({
      errors: {
        data: { components: { 0: { components: { 0: { value: { _errors: [{ code: 'BASE_TYPE_MIN_LENGTH' }] } } } } } },
      },
    });
    const long = await submit({ custom_id: 'feedback', components: [row('name', 'A'.repeat(21))] });
    expect(long.body).toMatchObject({ code: 50035 });
    const unknown = await submit({ custom_id: 'feedback', components: [row('name', 'Ada'), row('age', '3')] });
    expect(unknown.body).toMatchObject({
      errors: {
        data: { components: { 1: { components: { 0: { custom_id: { _errors: [{ code: 'COMPONENT_INVALID' }] } } } } } },
      },
    });

    const sent = submit({ id: i.id, custom_id: 'feedback', components: [row('name', 'Ada')] }, 'submit-1');
    const s = await next(5);
    expect(s.data).toEqual({
      custom_id: 'feedback',
      components: [row('name', 'Ada'), row('more', '')],
    });
    expect(s.message).toBeUndefined();
    for (const type of [9, 8, 6, 7]) {
      const r = await callback(s, { type, data: type === 9 ? MODAL : { content: 'x' } });
      expect(await errorOf(r)).toMatchObject({ code: 50035, errors: { type: {} } });
    }
    expect((await callback(s, { type: 4, data: { content: 'thanks Ada' } })).status).toBe(204);
    expect((await sent).body).toMatchObject({ nonce: 'submit-1', outcome: 'acknowledged' });
    const reply = await tap.next(
      (e) => e.t === 'MESSAGE_CREATE' && (e.d as { content: string }).content === 'thanks Ada',
    );
    expect(reply.d).toMatchObject({
      interaction_metadata: {
        id: s.id,
        type: 5,
        user: { id: t.seed.ownerId },
        triggering_interaction_metadata: { id: i.id, type: 2, name: 'form', command_type: 1 },
      },
    });
    // Acknowledged: the modal is closed, a second submit finds nothing.
    const again = await submit({ custom_id: 'feedback', components: [row('name', 'Ada')] });
    expect(again.body).toMatchObject({ code: 10062 });
  });

  it('a modal shown from a button: its submit carries the message and may update it (callback 7)', async () => {
    const cmd = invoke('button', 'btn');
    const i = await next(2);
    const res = await fetch(`${t.api}/v10/interactions/${i.id}/${i.token}/callback?with_response=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 4,
        data: {
          content: 'open the form',
          components: [{ type: 1, components: [{ type: 2, style: 1, label: 'Open', custom_id: 'open' }] }],
        },
      }),
    });
    const messageId = ((await res.json()) as { interaction: { response_message_id: string } }).interaction
      .response_message_id;
    expect((await cmd).body).toMatchObject({ outcome: 'acknowledged' });
    const click = userCall(t, 'POST', '/interactions?wait=true', {
      type: 3,
      ...where(),
      message_id: messageId,
      data: { component_type: 2, custom_id: 'open' },
    });
    const c = await next(3);
    const withResponse = await fetch(`${t.api}/v10/interactions/${c.id}/${c.token}/callback?with_response=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 9, data: { ...MODAL, custom_id: 'from-button' } }),
    });
    expect(await withResponse.json()).toMatchObject({ interaction: { id: c.id, type: 3 }, resource: { type: 9 } });
    expect((await click).body).toMatchObject({ outcome: 'acknowledged' });
    const sent = submit({ custom_id: 'from-button', components: [row('name', 'Bob')] }, 'submit-btn');
    const s = await next(5);
    expect(s.message?.id).toBe(messageId);
    expect((await callback(s, { type: 7, data: { content: 'submitted by Bob', components: [] } })).status).toBe(204);
    expect((await sent).body).toMatchObject({ outcome: 'acknowledged' });
    const upd = await tap.next((e) => e.t === 'MESSAGE_UPDATE' && (e.d as { id: string }).id === messageId);
    expect(upd.d).toMatchObject({ content: 'submitted by Bob', components: [] });
    const follow = await fetch(`${t.api}/v10/webhooks/${t.seed.applicationId}/${s.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'noted' }),
    });
    expect(await follow.json()).toMatchObject({
      content: 'noted',
      interaction_metadata: {
        id: s.id,
        type: 5,
        triggering_interaction_metadata: { id: c.id, type: 3, interacted_message_id: messageId },
      },
    });
  });
});
