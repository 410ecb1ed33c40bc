/**
 * Gateway behaviour seen from raw `ws` clients: zstd-stream and zlib-stream round trips, routing by intents (with
 * MESSAGE_CONTENT blanking and one serialisation per variant), shards, guild membership, the REST-driven dispatches,
 * op 3 presence and op 8 member chunks.
 */
import { GatewayIntentBits as I, Routes } from 'discord-api-types/v10';
import { REST } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Intent, messageDispatch, PreparedDispatch } from '../../gateway-lite/index.ts';
import type { TestNode } from './rest-helpers.ts';
import { RawClient, startGatewayTestNode, until, type Frame } from './gateway-helpers.ts';

const contentOf = (f: Frame) => (f.d as { content?: string }).content;

describe('gateway flows (raw clients)', () => {
  let t: TestNode;
  let rest: REST;
  const open: RawClient[] = [];
  const client = (query?: string) => {
    const c = new RawClient(t.node.gatewayUrl, query);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await startGatewayTestNode({ GATEWAY_LITE_HEARTBEAT_MS: '5000' });
    rest = new REST({ api: t.api, version: '10' }).setToken(t.seed.token);
  });

  afterAll(async () => {
    for (const c of open) c.close();
    await t?.close();
  });

  /** A message by the guild owner (not the bot), so MESSAGE_CONTENT decides whether the bot sees its content. */
  const ownerMessage = (content: string, id: string) =>
    messageDispatch(
      'MESSAGE_CREATE',
      { id, channel_id: t.seed.textChannelId, content, author: { id: t.seed.ownerId }, mentions: [], embeds: [] },
      t.seed.guildId,
    );

  it('zstd-stream: many dispatches through one never-ended frame, decoded by fzstd', async () => {
    const c = client('v=10&encoding=json&compress=zstd-stream');
    await c.identify(t.seed.token, { intents: I.Guilds | I.GuildMessages | I.MessageContent });
    for (let i = 0; i < 300; i++)
      await t.node.bus.publish(ownerMessage(`zstd message ${i} ${'x'.repeat(i % 50)}`, `${9000 + i}`));
    await until(() => c.dispatches('MESSAGE_CREATE').length === 300, '300 zstd dispatches');
    const got = c.dispatches('MESSAGE_CREATE');
    expect(got.map(contentOf)).toEqual([...Array(300).keys()].map((i) => `zstd message ${i} ${'x'.repeat(i % 50)}`));
    const seqs = c.frames.filter((f) => f.op === 0).map((f) => f.s!);
    expect(seqs).toEqual([...seqs.keys()].map((i) => i + 1));
    // The shared context pays off: later near-duplicate messages cost a fraction of their JSON size.
    const json = Buffer.byteLength(JSON.stringify(got[299]));
    expect(c.wireSizes[c.wireSizes.length - 1]).toBeLessThan(json / 2);
  });

  it('zlib-stream: every binary frame ends with the sync-flush suffix and inflates in order', async () => {
    const c = client('v=10&encoding=json&compress=zlib-stream');
    const frames: Buffer[] = [];
    c.ws.on('message', (d: Buffer) => frames.push(d));
    await c.identify(t.seed.token, { intents: I.Guilds | I.GuildMessages | I.MessageContent });
    for (let i = 0; i < 50; i++) await t.node.bus.publish(ownerMessage(`zlib ${i}`, `${8000 + i}`));
    await until(() => c.dispatches('MESSAGE_CREATE').length === 50, '50 zlib dispatches');
    expect(frames.every((f) => f.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff])))).toBe(true);
    expect(c.dispatches('MESSAGE_CREATE').map((f) => (f.d as { content: string }).content)).toEqual(
      [...Array(50).keys()].map((i) => `zlib ${i}`),
    );
  });

  it('filters by intents, blanks content without MESSAGE_CONTENT, serialises once per variant', async () => {
    const withContent = client();
    const noContent = client();
    const noMessages = client();
    const typing = client();
    await withContent.identify(t.seed.token, { intents: I.Guilds | I.GuildMessages | I.MessageContent });
    await noContent.identify(t.seed.token, { intents: I.Guilds | I.GuildMessages });
    await noMessages.identify(t.seed.token, { intents: I.Guilds });
    await typing.identify(t.seed.token, { intents: I.Guilds | I.GuildMessageTyping });
    const before = PreparedDispatch.serialisations;
    await t.node.bus.publish(ownerMessage('secret words', '7001'));
    expect(PreparedDispatch.serialisations - before).toBe(2); // full + no_content, not one per session
    const full = await withContent.next((f) => f.t === 'MESSAGE_CREATE', 'full message');
    const blank = await noContent.next((f) => f.t === 'MESSAGE_CREATE', 'blanked message');
    expect(contentOf(full)).toBe('secret words');
    expect(contentOf(blank)).toBe('');
    // The bot's own messages keep their content even without the intent.
    await rest.post(Routes.channelMessages(t.seed.textChannelId), { body: { content: 'my own words' } });
    await noContent.next((f) => contentOf(f) === 'my own words', 'own message with content');
    await rest.post(Routes.channelTyping(t.seed.textChannelId));
    const ts = await typing.next((f) => f.t === 'TYPING_START', 'TYPING_START');
    expect(ts.d).toMatchObject({ channel_id: t.seed.textChannelId, user_id: t.seed.botId, guild_id: t.seed.guildId });
    await withContent.next((f) => contentOf(f) === 'my own words', 'sync point');
    expect(noMessages.dispatches('MESSAGE_CREATE')).toHaveLength(0);
    expect(withContent.dispatches('TYPING_START')).toHaveLength(0);
  });

  it('routes a guild to exactly one of two shards; READY lists only that shard’s guilds', async () => {
    const shard = Number((BigInt(t.seed.guildId) >> 22n) % 2n);
    const s0 = client();
    const s1 = client();
    const intents = I.Guilds | I.GuildMessages | I.MessageContent;
    const r0 = await s0.identify(t.seed.token, { shard: [0, 2], intents });
    const r1 = await s1.identify(t.seed.token, { shard: [1, 2], intents });
    const listed = [r0, r1].map((r) => (r.d as { guilds: unknown[] }).guilds.length);
    expect(listed).toEqual(shard === 0 ? [1, 0] : [0, 1]);
    expect((r0.d as { shard: number[] }).shard).toEqual([0, 2]);
    await t.node.bus.publish(ownerMessage('sharded', '7100'));
    const [mine, other] = shard === 0 ? [s0, s1] : [s1, s0];
    await mine.next((f) => contentOf(f) === 'sharded', 'dispatch on the guild’s shard');
    await t.node.bus.publish(ownerMessage('sync', '7101'));
    await mine.next((f) => contentOf(f) === 'sync', 'sync');
    expect(other.dispatches('MESSAGE_CREATE')).toHaveLength(0);
  });

  it('CHANNEL_CREATE, GUILD_MEMBER_ADD/REMOVE, a bot joining a guild gets GUILD_CREATE, userIds targeting', async () => {
    const c = client();
    await c.identify(t.seed.token, { intents: I.Guilds | I.GuildMembers });
    const ch = (await rest.post(Routes.guildChannels(t.seed.guildId), { body: { name: 'new-room' } })) as {
      id: string;
    };
    const cc = await c.next((f) => f.t === 'CHANNEL_CREATE', 'CHANNEL_CREATE');
    expect((cc.d as { id: string }).id).toBe(ch.id);
    const actor = t.node.guilds.actor(t.seed.guildId);
    const userId = '1234567890123456789';
    await t.node.storage.upsertUser({
      id: userId,
      username: 'newbie',
      globalName: null,
      avatar: null,
      bot: false,
      tokenHash: null,
    });
    await actor.upsertMember({ guildId: t.seed.guildId, userId, nick: null, roleIds: [], joinedAt: Date.now() });
    const add = await c.next((f) => f.t === 'GUILD_MEMBER_ADD', 'GUILD_MEMBER_ADD');
    expect(add.d).toMatchObject({ guild_id: t.seed.guildId, user: { id: userId, username: 'newbie' } });
    await actor.removeMember(userId);
    const rm = await c.next((f) => f.t === 'GUILD_MEMBER_REMOVE', 'GUILD_MEMBER_REMOVE');
    expect(rm.d).toMatchObject({ guild_id: t.seed.guildId, user: { id: userId } });
    // A second guild the bot is added to after READY.
    const g2 = '1234567890123456790';
    await t.node.storage.upsertGuild({ id: g2, name: 'Second', ownerId: t.seed.ownerId, icon: null });
    await t.node.guilds
      .actor(g2)
      .upsertMember({ guildId: g2, userId: t.seed.botId, nick: null, roleIds: [], joinedAt: Date.now() });
    const gc = await c.next((f) => f.t === 'GUILD_CREATE' && (f.d as { id: string }).id === g2, 'GUILD_CREATE for g2');
    expect((gc.d as { name: string }).name).toBe('Second');
    await t.node.bus.publish({
      t: 'INTERACTION_CREATE',
      d: { id: 'i1', guild_id: g2 },
      guildId: g2,
      intent: 0,
      userIds: [t.seed.botId],
    });
    await c.next((f) => f.t === 'INTERACTION_CREATE', 'INTERACTION_CREATE for the bot');
    await t.node.bus.publish({
      t: 'INTERACTION_CREATE',
      d: { id: 'i2', guild_id: g2 },
      guildId: g2,
      intent: 0,
      userIds: ['42'],
    });
    await t.node.bus.publish({
      t: 'INTERACTION_CREATE',
      d: { id: 'i3', guild_id: g2 },
      guildId: g2,
      intent: 0,
      userIds: [t.seed.botId],
    });
    await c.next((f) => (f.d as { id?: string }).id === 'i3', 'i3');
    expect(c.dispatches('INTERACTION_CREATE').map((f) => (f.d as { id: string }).id)).toEqual(['i1', 'i3']);
  });

  it('op 3 presence → PRESENCE_UPDATE to GUILD_PRESENCES sessions; op 8 → GUILD_MEMBERS_CHUNK with nonce', async () => {
    const watcher = client();
    await watcher.identify(t.seed.token, { intents: I.Guilds | I.GuildPresences | I.GuildMembers });
    const me = client();
    await me.identify(t.seed.token, { intents: I.Guilds });
    me.send(3, { since: null, activities: [], status: 'dnd', afk: false });
    await watcher.next((f) => f.t === 'PRESENCE_UPDATE' && (f.d as { status: string }).status === 'dnd', 'dnd');
    watcher.send(8, { guild_id: t.seed.guildId, query: '', limit: 0, nonce: 'n-1' });
    const chunk = await watcher.next((f) => f.t === 'GUILD_MEMBERS_CHUNK', 'chunk');
    const d = chunk.d as { members: Array<{ user: { id: string } }>; nonce: string; chunk_count: number };
    expect(d.nonce).toBe('n-1');
    expect(d.chunk_count).toBe(1);
    expect(d.members.map((m) => m.user.id).sort()).toEqual([t.seed.botId, t.seed.ownerId].sort());
    watcher.send(8, { guild_id: t.seed.guildId, user_ids: [t.seed.ownerId, '999999999999999999'], nonce: 'n-2' });
    const byId = await watcher.next((f) => (f.d as { nonce?: string }).nonce === 'n-2', 'chunk by ids');
    expect(byId.d).toMatchObject({ members: [{ user: { id: t.seed.ownerId } }], not_found: ['999999999999999999'] });
    expect(Intent.GUILD_PRESENCES).toBe(I.GuildPresences);
  });
});
