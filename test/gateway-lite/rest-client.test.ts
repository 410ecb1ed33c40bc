import { DiscordAPIError, REST, makeURLSearchParams } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnowflakeGenerator } from '../../common/snowflake.ts';
import { startTestNode, type TestNode } from './rest-helpers.ts';

/** The real @discordjs/rest client, unmodified, pointed at our server. */
let t: TestNode;
const rest = (appendix = 'resound-test') =>
  new REST({ api: t.api, version: '10', userAgentAppendix: appendix }).setToken(t.seed.token);

interface ApiMessage {
  id: string;
  content: string;
  channel_id: string;
  edited_timestamp: string | null;
  author: { id: string; bot: boolean };
}

beforeAll(async () => {
  t = await startTestNode({ GATEWAY_LITE_RL_MESSAGE_POST: '4/1000' });
});
afterAll(async () => {
  await t.close();
});

describe('@discordjs/rest against gateway-lite', () => {
  it('creates, lists in all four modes, edits and deletes messages', async () => {
    const r = rest();
    const ch = t.seed.textChannelId;
    const me = (await r.get('/users/@me')) as { id: string; bot: boolean };
    expect(me).toMatchObject({ id: t.seed.botId, bot: true });

    // History written straight to storage (older ids), then three messages through the client.
    const ids = new SnowflakeGenerator(7, 7, () => Date.now() - 60_000);
    const older: string[] = [];
    for (let i = 0; i < 20; i++) {
      const id = ids.next();
      await t.node.storage.createMessage({
        id,
        channelId: ch,
        guildId: t.seed.guildId,
        authorId: t.seed.botId,
        content: `old ${i}`,
      });
      older.push(id);
    }
    const created: ApiMessage[] = [];
    for (const content of ['one', 'two', 'three'])
      created.push((await r.post(`/channels/${ch}/messages`, { body: { content, nonce: content } })) as ApiMessage);
    expect(created.map((m) => m.content)).toEqual(['one', 'two', 'three']);
    expect(created[0].author).toMatchObject({ id: t.seed.botId, bot: true });
    const all = [...older, ...created.map((m) => m.id)]; // oldest → newest

    const list = async (q: Record<string, string | number>) =>
      ((await r.get(`/channels/${ch}/messages`, { query: makeURLSearchParams(q) })) as ApiMessage[]).map((m) => m.id);
    expect(await list({ limit: 5 })).toEqual(all.slice(-5).reverse());
    expect(await list({ before: all[10], limit: 4 })).toEqual(all.slice(6, 10).reverse());
    expect(await list({ after: all[10], limit: 4 })).toEqual(all.slice(11, 15).reverse());
    const around = await list({ around: all[10], limit: 5 });
    expect(around).toContain(all[10]);
    expect(around).toEqual([...around].sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : -1)));
    expect(await list({})).toEqual([...all].reverse()); // default limit 50 > 23

    const edited = (await r.patch(`/channels/${ch}/messages/${created[1].id}`, {
      body: { content: 'two, edited' },
    })) as ApiMessage;
    expect(edited.content).toBe('two, edited');
    expect(edited.edited_timestamp).not.toBeNull();
    expect(((await r.get(`/channels/${ch}/messages/${created[1].id}`)) as ApiMessage).content).toBe('two, edited');

    await r.delete(`/channels/${ch}/messages/${created[0].id}`);
    const gone = await r.get(`/channels/${ch}/messages/${created[0].id}`).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(DiscordAPIError);
    expect((gone as DiscordAPIError).code).toBe(10008);
    expect((gone as DiscordAPIError).status).toBe(404);

    await r.post(`/channels/${ch}/typing`);
    expect(await r.post(`/channels/${ch}/messages/${created[2].id}/ack`, { body: { token: null } })).toEqual({
      token: null,
    });
    expect(await t.node.readStates.get(t.seed.botId, ch)).toMatchObject({ lastMessageId: created[2].id });
    await t.node.readStates.flush();
    expect(await t.node.storage.getReadState(t.seed.botId, ch)).toMatchObject({ lastMessageId: created[2].id });
  });

  it('answers guild, members, channels and gateway routes in Discord shapes', async () => {
    const r = rest();
    const g = (await r.get(`/guilds/${t.seed.guildId}`)) as { id: string; roles: Array<{ id: string }> };
    expect(g.id).toBe(t.seed.guildId);
    expect(g.roles.map((x) => x.id)).toContain(t.seed.guildId);
    const members = (await r.get(`/guilds/${t.seed.guildId}/members`, {
      query: makeURLSearchParams({ limit: 10 }),
    })) as Array<{ user: { id: string } }>;
    expect(members.map((m) => m.user.id).sort()).toEqual([t.seed.ownerId, t.seed.botId].sort());
    const after = (await r.get(`/guilds/${t.seed.guildId}/members`, {
      query: makeURLSearchParams({ limit: 10, after: members[0].user.id }),
    })) as unknown[];
    expect(after).toHaveLength(1);
    const voice = (await r.post(`/guilds/${t.seed.guildId}/channels`, {
      body: { name: 'Stage-ish', type: 2, user_limit: 5 },
    })) as { id: string; type: number; user_limit: number };
    expect(voice).toMatchObject({ type: 2, user_limit: 5 });
    expect(await r.get(`/channels/${voice.id}`)).toMatchObject({ id: voice.id, name: 'Stage-ish' });
    const gw = (await r.get('/gateway/bot')) as {
      url: string;
      shards: number;
      session_start_limit: { remaining: number };
    };
    expect(gw.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/gateway$/);
    expect(gw.shards).toBe(1);
  });

  it('survives our 429s: two clients sharing one bucket wait as the headers say and never hammer', async () => {
    const ch = t.seed.voiceChannelId; // its own bucket (major parameter), 4 per second
    const clients = [rest('client-a'), rest('client-b')];
    const limited: Array<{ retryAfter: number }> = [];
    for (const c of clients) c.on('rateLimited', (info) => limited.push(info));
    const sends = clients.flatMap((c, k) =>
      Array.from(
        { length: 6 },
        (_, i) => c.post(`/channels/${ch}/messages`, { body: { content: `c${k}-${i}` } }) as Promise<ApiMessage>,
      ),
    );
    const results = await Promise.all(sends);
    expect(new Set(results.map((m) => m.content)).size).toBe(12);
    const history = (await clients[0].get(`/channels/${ch}/messages`, {
      query: makeURLSearchParams({ limit: 100 }),
    })) as ApiMessage[];
    expect(history.filter((m) => /^c\d-\d$/.test(m.content))).toHaveLength(12); // each created exactly once

    const posts = t.seen.filter((s) => s.method === 'POST' && s.path === `/api/v10/channels/${ch}/messages`);
    const refused = posts.filter((s) => s.status === 429);
    expect(posts.length).toBe(12 + refused.length);
    expect(refused.length).toBeGreaterThan(0); // the clients really met our limit…
    expect(limited.length).toBeGreaterThan(0);
    expect(refused.length).toBeLessThanOrEqual(6); // …and backed off instead of retrying in a loop
    for (const c of ['client-a', 'client-b']) {
      const mine = posts.filter((s) => s.ua.includes(c));
      expect(mine.length).toBeGreaterThanOrEqual(6);
      for (let i = 0; i < mine.length - 1; i++)
        if (mine[i].status === 429)
          expect(mine[i + 1].at - mine[i].at).toBeGreaterThanOrEqual(mine[i].retryAfter! * 1000 - 5);
    }
  });
});
