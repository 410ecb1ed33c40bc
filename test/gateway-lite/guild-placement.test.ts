import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type Redis } from '../../common/redis.ts';
import { snowflake } from '../../common/snowflake.ts';
import { GuildHost, NotOwnerError } from '../../gateway-lite/guilds/guild-host.ts';
import { GuildInvalidation } from '../../gateway-lite/guilds/guild-invalidation.ts';
import { NodeMembership } from '../../gateway-lite/guilds/node-membership.ts';
import { openStorage, type Storage } from '../../gateway-lite/storage/index.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `resound:test:gl-place:${randomBytes(4).toString('hex')}:`;
const TTL = 600;
let store: Storage;
const redises: Redis[] = [];
const dir = fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, 'gl-place-'));

beforeAll(async () => {
  store = await openStorage({ kind: 'sqlite', dataDir: dir, synchronous: 'normal' });
});
afterAll(async () => {
  const r = createRedis(REDIS_URL);
  const keys = await r.keys(`${prefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
  for (const x of redises) x.disconnect();
  await store.close();
});

/** A node = its own Redis connection, lease and host, as in a separate process. */
async function node(nodeId: string) {
  const redis = createRedis(REDIS_URL);
  const sub = createRedis(REDIS_URL);
  redises.push(redis, sub);
  const membership = new NodeMembership({ redis, prefix, nodeId, ttlMs: TTL });
  await membership.start();
  const invalidation = new GuildInvalidation(redis, sub, prefix);
  await invalidation.start();
  return { membership, redis, host: new GuildHost({ nodeId, store, membership, invalidation }) };
}

/** Resolves when `host` sees exactly `nodes` live. */
async function until(host: GuildHost, nodes: string[]) {
  while (host.nodes.join(',') !== nodes.join(',')) await once(host, 'rebalanced');
}

describe('guild placement on a ring of nodes kept in Redis', () => {
  it('two nodes agree on every owner; when one dies its guilds move to the survivor with committed state', async () => {
    const guilds: string[] = [];
    for (let i = 0; i < 40; i++) {
      const id = snowflake();
      await store.upsertGuild({ id, name: `g${i}`, ownerId: snowflake(), icon: null });
      guilds.push(id);
    }
    const a = await node('node-a');
    const b = await node('node-b');
    await until(a.host, ['node-a', 'node-b']);
    await until(b.host, ['node-a', 'node-b']);

    expect(guilds.map((g) => a.host.owner(g))).toEqual(guilds.map((g) => b.host.owner(g)));
    const onB = guilds.filter((g) => b.host.owns(g));
    const onA = guilds.filter((g) => a.host.owns(g));
    expect(onA.length).toBeGreaterThan(0);
    expect(onB.length).toBeGreaterThan(0);
    expect(onA.length + onB.length).toBe(guilds.length);
    // A node refuses to become a second writer for a guild it does not own.
    expect(() => a.host.actor(onB[0])).toThrow(NotOwnerError);

    // B commits state for its guilds, then dies: no withdrawal, its connection just drops.
    for (const g of onB)
      await b.host
        .actor(g)
        .upsertMember({ guildId: g, userId: '80351110224678912', nick: 'b', roleIds: [], joinedAt: 1 });
    await b.membership.close(false);
    b.redis.disconnect();

    await until(a.host, ['node-a']);
    for (const g of guilds) expect(a.host.owner(g)).toBe('node-a');
    for (const g of onB) expect((await a.host.actor(g).snapshot()).members).toBe(1);
    await a.host.close();
    await a.membership.close();
  });

  it('a node that loses ownership when another joins hands its actors away', async () => {
    const c = await node('node-c-' + randomBytes(2).toString('hex'));
    const guilds: string[] = [];
    for (let i = 0; i < 30; i++) {
      const id = snowflake();
      await store.upsertGuild({ id, name: `h${i}`, ownerId: snowflake(), icon: null });
      guilds.push(id);
    }
    // Alone (the first test's survivor left cleanly), c owns everything.
    await until(c.host, [c.membership.nodeId]);
    for (const g of guilds) await c.host.actor(g).snapshot();
    expect(c.host.active).toHaveLength(30);
    const rebalanced = once(c.host, 'rebalanced');
    const d = await node('node-d');
    const [info] = (await rebalanced) as [{ nodes: string[]; released: string[] }];
    expect(info.nodes).toEqual([c.membership.nodeId, 'node-d'].sort());
    expect(info.released.sort()).toEqual(guilds.filter((g) => d.host.owns(g)).sort());
    expect(c.host.active.every((g) => c.host.owns(g))).toBe(true);
    await c.host.close();
    await d.host.close();
    await c.membership.close();
    await d.membership.close();
  });

  it("a write by a non-owner makes the owner's actor reload, so it serves the new row", async () => {
    const e = await node('node-e');
    const f = await node('node-f');
    await until(e.host, ['node-e', 'node-f']);
    await until(f.host, ['node-e', 'node-f']);
    let guild = '';
    while (!guild || !f.host.owns(guild)) {
      guild = snowflake();
      await store.upsertGuild({ id: guild, name: 'owned-by-f', ownerId: snowflake(), icon: null });
    }
    expect((await f.host.actor(guild).snapshot()).channels).toHaveLength(0);
    // e does not own the guild: it writes storage directly and announces the change.
    const id = snowflake();
    await store.upsertChannel({
      id,
      guildId: guild,
      type: 0,
      name: 'from-e',
      position: 0,
      topic: null,
      parentId: null,
      bitrate: null,
      userLimit: null,
    });
    const reloaded = once(f.host, 'invalidated');
    await e.host.changedElsewhere(guild);
    expect(await reloaded).toEqual([guild]);
    expect((await f.host.actor(guild).snapshot()).channels.map((c) => c.id)).toEqual([id]);
    for (const n of [e, f]) {
      await n.host.close();
      await n.membership.close();
    }
  });
});
