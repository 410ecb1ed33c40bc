import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snowflake } from '../../common/snowflake.ts';
import { GuildActor } from '../../gateway-lite/guilds/guild-actor.ts';
import type { ListItem, MemberListUpdate } from '../../gateway-lite/member-list/types.ts';
import { openStorage, type Storage, type StoredChannel } from '../../gateway-lite/storage/index.ts';

let store: Storage;
const dir = fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, 'gl-actor-'));

beforeAll(async () => {
  store = await openStorage({ kind: 'sqlite', dataDir: dir, synchronous: 'normal' });
});
afterAll(async () => {
  await store.close();
});

async function seedGuild(members: number) {
  const guildId = snowflake();
  const ownerId = snowflake();
  await store.upsertGuild({ id: guildId, name: 'actors', ownerId, icon: null });
  for (let i = 0; i < members; i++)
    await store.upsertMember({ guildId, userId: snowflake(), nick: null, roleIds: [], joinedAt: Date.now() });
  return guildId;
}

const channel = (guildId: string, name: string): StoredChannel => ({
  id: snowflake(),
  guildId,
  type: 0,
  name,
  position: 0,
  topic: null,
  parentId: null,
  bitrate: null,
  userLimit: null,
});

describe('GuildActor', () => {
  it('loads members across storage pages and runs messages one at a time in arrival order', async () => {
    const guildId = await seedGuild(1203);
    const actor = new GuildActor(guildId, store);
    expect((await actor.snapshot()).members).toBe(1203);
    const order: number[] = [];
    let inside = 0;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        actor.run(async () => {
          inside++;
          expect(inside).toBe(1);
          await new Promise((r) => setImmediate(r));
          order.push(i);
          inside--;
        }),
      ),
    );
    expect(order).toEqual([...Array(20).keys()]);
  });

  it('a handler that throws restarts the actor from storage with committed state intact', async () => {
    const guildId = await seedGuild(5);
    const restarts: unknown[] = [];
    const actor = new GuildActor(guildId, store, { onRestart: (_g, err) => restarts.push(err) });
    const first = await actor.upsertChannel(channel(guildId, 'general'));

    // Commits a channel, then corrupts memory and throws before finishing: the commit must survive, the corruption not.
    const committed = channel(guildId, 'committed-before-crash');
    const crash = actor.run(async (s, st) => {
      await st.upsertChannel(committed);
      s.channels.set(committed.id, committed);
      s.members.clear();
      s.channels.delete(first.id);
      throw new Error('handler bug');
    });
    // A message queued behind the crash runs on the restarted state.
    const after = actor.snapshot();
    await expect(crash).rejects.toThrow('handler bug');
    const snap = await after;
    expect(actor.restarts).toBe(1);
    expect(restarts).toHaveLength(1);
    expect(snap.members).toBe(5);
    expect(snap.channels.map((c) => c.name).sort()).toEqual(['committed-before-crash', 'general']);

    // And the actor keeps serving writes afterwards.
    await actor.upsertChannel(channel(guildId, 'later'));
    expect((await actor.snapshot()).channels).toHaveLength(3);
  });

  it('an unknown guild rejects every message without a restart loop', async () => {
    const actor = new GuildActor(snowflake(), store);
    await expect(actor.snapshot()).rejects.toThrow(/unknown guild/);
    expect(actor.restarts).toBe(0);
  });

  it('keeps a member list in step: presence and member changes give ops a client applies to the true list', async () => {
    const guildId = await seedGuild(0);
    const hoisted = snowflake();
    await store.upsertRole({
      id: hoisted,
      guildId,
      name: 'mods',
      permissions: '0',
      position: 5,
      color: 0,
      hoist: true,
      mentionable: false,
    });
    const users: string[] = [];
    for (const name of ['zoe', 'Adam', 'mia', 'bob', 'Kim', 'lou']) {
      const id = snowflake();
      users.push(id);
      await store.upsertUser({ id, username: name, globalName: null, avatar: null, bot: false, tokenHash: null });
      await store.upsertMember({
        guildId,
        userId: id,
        nick: null,
        roleIds: name === 'mia' || name === 'Kim' ? [hoisted] : [],
        joinedAt: 1,
      });
    }
    const pushed: MemberListUpdate[] = [];
    const actor = new GuildActor(guildId, store, { onMemberList: (_g, u) => pushed.push(u) });
    const first = (await actor.syncMemberList(0, 99)).ops[0];
    const client: ListItem[] = first.op === 'SYNC' ? [...first.items] : [];
    const apply = (u: MemberListUpdate | null) => {
      for (const op of u?.ops ?? [])
        if (op.op === 'INSERT') client.splice(op.index, 0, op.item);
        else if (op.op === 'DELETE') client.splice(op.index, 1);
        else if (op.op === 'UPDATE') client[op.index] = op.item;
      // Header counts come from the payload's `groups`, as in the Discord client.
      const counts = new Map(u?.groups.map((g) => [g.id, g.count]));
      for (const [i, it] of client.entries())
        if ('group' in it && counts.has(it.group.id))
          client[i] = { group: { id: it.group.id, count: counts.get(it.group.id)! } };
    };
    const names = () =>
      client.map((i) => ('group' in i ? `[${i.group.id === hoisted ? 'mods' : i.group.id}]` : i.member.display_name));
    expect(names()).toEqual(['[offline]', 'Adam', 'bob', 'Kim', 'lou', 'mia', 'zoe']);
    apply(await actor.setPresence(users[2], 'online')); // mia, hoisted
    apply(await actor.setPresence(users[0], 'idle')); // zoe
    apply(await actor.setPresence(users[3], 'dnd')); // bob
    expect(names()).toEqual(['[mods]', 'mia', '[online]', 'bob', 'zoe', '[offline]', 'Adam', 'Kim', 'lou']);
    await actor.upsertMember({ guildId, userId: users[3], nick: 'Aaron', roleIds: [], joinedAt: 1 });
    apply(pushed.at(-1)!);
    await actor.removeMember(users[0]);
    apply(pushed.at(-1)!);
    apply(await actor.setPresence(users[2], 'offline'));
    const truth = (await actor.syncMemberList(0, 99)).ops[0] as { items: ListItem[] };
    expect(client).toEqual(truth.items);
    expect(names()).toEqual(['[online]', 'Aaron', '[offline]', 'Adam', 'Kim', 'lou', 'mia']);
    // Presences are live state: a restarted actor rebuilds its list with them.
    await expect(actor.run(() => Promise.reject(new Error('bug')))).rejects.toThrow('bug');
    expect(((await actor.syncMemberList(0, 99)).ops[0] as { items: ListItem[] }).items).toEqual(truth.items);
  });
});
