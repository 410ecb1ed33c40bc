/** Platform entities and read states behave the same on SQLite and on the real PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../gateway-lite/storage/index.ts';
import type { BackendConfig, StoredChannel, StoredUser } from '../../gateway-lite/storage/types.ts';
import { type Backend, dropBackend, openFresh } from './storage-helpers.ts';

describe.each(['sqlite', 'postgres'] as const)('entities on %s', (kind) => {
  let storage: Backend;
  let config: BackendConfig;

  beforeAll(async () => {
    ({ storage, config } = await openFresh(kind, 'entities'));
  });
  afterAll(async () => {
    await storage?.close();
    if (config) await dropBackend(config);
  });

  it('stores users and finds a bot by its token hash', async () => {
    const bot: StoredUser = { id: '100', username: 'bot', globalName: null, avatar: null, bot: true, tokenHash: 'h1' };
    await storage.upsertUser(bot);
    await storage.upsertUser({
      id: '101',
      username: 'human',
      globalName: 'H',
      avatar: 'a',
      bot: false,
      tokenHash: null,
    });
    expect(await storage.getUser('100')).toEqual(bot);
    expect(await storage.getUserByTokenHash('h1')).toEqual(bot);
    expect(await storage.getUserByTokenHash('nope')).toBeNull();
    await storage.upsertUser({ ...bot, username: 'renamed' });
    expect((await storage.getUser('100'))?.username).toBe('renamed');
    // A token hash is unique across users; issued in the same turn, the refused write does not undo the others.
    const results = await Promise.allSettled([
      storage.upsertUser({ ...bot, id: '102' }),
      storage.upsertUser({ ...bot, id: '103', tokenHash: 'h3' }),
      storage.createMessage({ id: '5000000000000000000', channelId: '9', authorId: '103', content: 'same turn' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(await storage.getUser('102')).toBeNull();
    expect((await storage.getUserByTokenHash('h3'))?.id).toBe('103');
    expect((await storage.getMessage('9', '5000000000000000000'))?.content).toBe('same turn');
  });

  it('commits writes queued when close() is called before resolving them', async () => {
    const extra = await openFresh(kind, 'drain');
    const pending = extra.storage.upsertGuild({ id: '900', name: 'late', ownerId: '1', icon: null });
    await extra.storage.close();
    await pending;
    const reopened = await openBackend(extra.config);
    expect((await reopened.getGuild('900'))?.name).toBe('late');
    await reopened.close();
    await dropBackend(extra.config);
  });

  it('stores guilds, channels, members, roles and voice states, and deletes a guild with its rows', async () => {
    await storage.upsertGuild({ id: '200', name: 'g', ownerId: '100', icon: null });
    await storage.upsertGuild({ id: '201', name: 'other', ownerId: '101', icon: 'i' });
    const text: StoredChannel = {
      id: '300',
      guildId: '200',
      type: 0,
      name: 'general',
      position: 1,
      topic: 't',
      parentId: null,
      bitrate: null,
      userLimit: null,
    };
    const voice: StoredChannel = {
      ...text,
      id: '301',
      type: 2,
      name: 'voice',
      position: 0,
      bitrate: 64000,
      userLimit: 0,
    };
    await storage.upsertChannel(text);
    await storage.upsertChannel(voice);
    expect(await storage.getChannel('301')).toEqual(voice);
    expect((await storage.listChannels('200')).map((c) => c.id)).toEqual(['301', '300']);

    for (let u = 0; u < 5; u++)
      await storage.upsertMember({ guildId: '200', userId: String(1000 + u), nick: null, roleIds: [], joinedAt: 5 });
    await storage.upsertMember({ guildId: '200', userId: '100', nick: 'n', roleIds: ['400'], joinedAt: 7 });
    await storage.upsertMember({ guildId: '201', userId: '100', nick: null, roleIds: [], joinedAt: 8 });
    expect(await storage.getMember('200', '100')).toEqual({
      guildId: '200',
      userId: '100',
      nick: 'n',
      roleIds: ['400'],
      joinedAt: 7,
    });
    const first = await storage.listMembers('200', { limit: 3 });
    expect(first.map((m) => m.userId)).toEqual(['100', '1000', '1001']);
    const next = await storage.listMembers('200', { after: '1001', limit: 10 });
    expect(next.map((m) => m.userId)).toEqual(['1002', '1003', '1004']);
    expect((await storage.listGuildsForUser('100')).map((g) => g.id)).toEqual(['200', '201']);
    expect(await storage.removeMember('200', '1004')).toBe(true);
    expect(await storage.removeMember('200', '1004')).toBe(false);

    const role = {
      id: '400',
      guildId: '200',
      name: 'mod',
      permissions: '8',
      position: 1,
      color: 0xff0000,
      hoist: true,
      mentionable: false,
    };
    await storage.upsertRole(role);
    expect(await storage.listRoles('200')).toEqual([role]);

    const vs = {
      guildId: '200',
      userId: '100',
      channelId: '301',
      sessionId: 's',
      selfMute: true,
      selfDeaf: false,
      mute: false,
      deaf: false,
    };
    await storage.upsertVoiceState(vs);
    expect(await storage.listVoiceStates('200')).toEqual([vs]);
    expect(await storage.deleteVoiceState('200', '100')).toBe(true);
    await storage.upsertVoiceState(vs);

    expect(await storage.deleteGuild('200')).toBe(true);
    expect(await storage.getGuild('200')).toBeNull();
    expect(await storage.listChannels('200')).toEqual([]);
    expect(await storage.listMembers('200', { limit: 10 })).toEqual([]);
    expect(await storage.listRoles('200')).toEqual([]);
    expect(await storage.listVoiceStates('200')).toEqual([]);
    expect(await storage.getGuild('201')).toEqual({ id: '201', name: 'other', ownerId: '101', icon: 'i' });
  });

  it('upserts read states in batches (last write per key wins) and lists them per user', async () => {
    await storage.upsertReadStates([
      { userId: '100', channelId: '300', lastMessageId: '5', mentionCount: 1 },
      { userId: '100', channelId: '301', lastMessageId: '6', mentionCount: 0 },
      { userId: '100', channelId: '300', lastMessageId: '7', mentionCount: 0 },
    ]);
    await storage.upsertReadStates([]);
    expect(await storage.listReadStates('100')).toEqual([
      { userId: '100', channelId: '300', lastMessageId: '7', mentionCount: 0 },
      { userId: '100', channelId: '301', lastMessageId: '6', mentionCount: 0 },
    ]);
    expect(await storage.getReadState('100', '302')).toBeNull();
  });
});
