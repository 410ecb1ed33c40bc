import { Routes } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from './rest-helpers.ts';
import { metric } from './rest-helpers.ts';
import { BusTap, addGuildUser, botRest, startInteractionsNode, userCall } from './interactions-helpers.ts';

/**
 * `default_member_permissions` enforced at invocation (commands and autocomplete): null lets every member in, "0"
 * only administrators and the guild owner, a bitfield needs all its bits (ADMINISTRATOR and ownership bypass it).
 * A refusal is Discord's 50013 Missing Permissions (403), counted in resound_interactions_refused_total.
 */
let t: TestNode;
let tap: BusTap;
const ids = new Map<string, string>();
const MANAGE_GUILD = 1n << 5n;
let plain: { id: string; token: string };
let manager: { id: string; token: string };
let admin: { id: string; token: string };
let owner: { id: string; token: string };

beforeAll(async () => {
  t = await startInteractionsNode();
  tap = new BusTap(t);
  const cmds = (await botRest(t).put(Routes.applicationGuildCommands(t.seed.applicationId, t.seed.guildId), {
    body: [
      { name: 'open', description: 'Everyone', default_member_permissions: null },
      { name: 'manage', description: 'Managers', default_member_permissions: String(MANAGE_GUILD) },
      { name: 'admins', description: 'Administrators only', default_member_permissions: '0' },
      {
        name: 'lookup',
        description: 'Managers, autocompleting',
        default_member_permissions: String(MANAGE_GUILD),
        options: [{ type: 3, name: 'q', description: 'Query', autocomplete: true }],
      },
      { name: 'Inspect', type: 2, default_member_permissions: String(MANAGE_GUILD) },
    ],
  })) as Array<{ id: string; name: string; default_member_permissions: string | null }>;
  for (const c of cmds) ids.set(c.name, c.id);
  expect(cmds.find((c) => c.name === 'manage')!.default_member_permissions).toBe('32');
  expect(cmds.find((c) => c.name === 'admins')!.default_member_permissions).toBe('0');
  const role = (id: string, name: string, permissions: bigint) =>
    t.node.storage.upsertRole({
      id,
      guildId: t.seed.guildId,
      name,
      permissions: String(permissions),
      position: 1,
      color: 0,
      hoist: false,
      mentionable: false,
    });
  const managers = String(BigInt(t.seed.guildId) + 500n);
  const admins = String(BigInt(t.seed.guildId) + 501n);
  await role(managers, 'managers', MANAGE_GUILD);
  await role(admins, 'admins', 8n);
  plain = await addGuildUser(t, 'plain');
  manager = await addGuildUser(t, 'manager', [managers]);
  admin = await addGuildUser(t, 'admin', [admins]);
  // The guild owner holds no role at all: ownership alone passes.
  owner = await addGuildUser(t, 'boss');
  const guild = (await t.node.storage.getGuild(t.seed.guildId))!;
  await t.node.storage.upsertGuild({ ...guild, ownerId: owner.id });
});
afterAll(async () => {
  tap.close();
  await t.close();
});

const invoke = (who: { token: string }, name: string, type = 2, data: Record<string, unknown> = {}) =>
  userCall(
    t,
    'POST',
    '/interactions',
    {
      type,
      application_id: t.seed.applicationId,
      guild_id: t.seed.guildId,
      channel_id: t.seed.textChannelId,
      data: { id: ids.get(name), ...data },
    },
    who.token,
  );

/** Accepted: 204 and the bot got the interaction from this user. */
async function accepted(who: { id: string; token: string }, name: string, type = 2, data = {}) {
  const r = await invoke(who, name, type, data);
  expect(r.status).toBe(204);
  const ev = await tap.next(
    (e) =>
      e.t === 'INTERACTION_CREATE' &&
      (e.d as { member: { user: { id: string } }; data: { name: string } }).member.user.id === who.id &&
      (e.d as { data: { name: string } }).data.name === name,
  );
  expect((ev.d as { type: number }).type).toBe(type);
}

async function refused(who: { token: string }, name: string, type = 2, data = {}) {
  const r = await invoke(who, name, type, data);
  expect(r.status).toBe(403);
  expect(r.body).toEqual({ code: 50013, message: 'Missing Permissions' });
}

describe('default_member_permissions', () => {
  it('refuses a member without the bit (50013, counted), for commands, context menus and autocomplete', async () => {
    const before = await metric(t.node, 'resound_interactions_refused_total', { code: '50013' });
    await refused(plain, 'manage');
    await refused(plain, 'admins');
    await refused(plain, 'Inspect', 2, { target_id: plain.id });
    await refused(plain, 'lookup', 4, { options: [{ name: 'q', type: 3, value: 'a', focused: true }] });
    expect(await metric(t.node, 'resound_interactions_refused_total', { code: '50013' })).toBe(before + 4);
    expect(tap.events.some((e) => e.t === 'INTERACTION_CREATE')).toBe(false);
    await accepted(plain, 'open'); // null: everyone
  });

  it('a member with a role granting the bit succeeds, but "0" still needs an administrator', async () => {
    await accepted(manager, 'manage');
    await accepted(manager, 'lookup', 4, { options: [{ name: 'q', type: 3, value: 'a', focused: true }] });
    await accepted(manager, 'Inspect', 2, { target_id: plain.id });
    await refused(manager, 'admins');
  });

  it('ADMINISTRATOR and the guild owner pass every command', async () => {
    for (const who of [admin, owner]) for (const name of ['open', 'manage', 'admins']) await accepted(who, name);
    await accepted(owner, 'lookup', 4, { options: [{ name: 'q', type: 3, value: 'b', focused: true }] });
  });
});
