/**
 * End to end with the real discord.js 14.28.1 and @discordjs/voice 0.19.2 (+ davey): two bots log in against
 * `npm start`'s parts (REST `api` and, through /gateway/bot, the gateway), see their guild, send a message, join a
 * voice channel through `guild.voiceAdapterCreator` (op 4 → VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE → our voice
 * server), and one hears the other byte-identical through DAVE. Then the speaker moves and leaves (and a bot is
 * kicked by the voice admin API, another ends its gateway session), and the gateway's
 * voice states (REST and both bots' caches) agree with the voice server's sessions at every step.
 */
import { entersState, joinVoiceChannel, VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { ChannelType, Events, type Client, type TextChannel } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bestCorrelation,
  collectFrames,
  decodeFrames,
  fixtureOpusFrames,
  play,
  waitFor,
  waitForSharedGroup,
  type TestClient,
} from '../../testkit/index.ts';
import { loginBot, startPlatform, type Platform } from './discordjs-helpers.ts';

/** The testkit's view of a bot's voice connection (collect/play/DAVE helpers take it). */
const asTestClient = (client: Client<true>, connection: VoiceConnection): TestClient => ({
  userId: client.user.id,
  connection,
  joins: () => 1,
  destroy: () => connection.destroy(),
});

function join(client: Client<true>, guildId: string, channelId: string): VoiceConnection {
  const guild = client.guilds.cache.get(guildId)!;
  const connection = joinVoiceChannel({
    guildId,
    channelId,
    adapterCreator: guild.voiceAdapterCreator,
    // Two bots in one process: @discordjs/voice keys connections by (group, guild).
    group: client.user.id,
    selfDeaf: false,
  });
  connection.on('error', () => {});
  return connection;
}

describe('discord.js bots on npm start: gateway, REST and voice', () => {
  let p: Platform;
  let speaker: Client<true>;
  let listener: Client<true>;
  beforeAll(async () => {
    p = await startPlatform();
    [speaker, listener] = await Promise.all(p.seed.bots.map((b) => loginBot(p.http, b.token)));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([speaker?.destroy(), listener?.destroy()]);
    await p?.close();
  });

  /** Where the gateway says `userId` is: REST (the guild actor), and each bot's cache (the dispatches it got). */
  async function gatewaySays(
    userId: string,
    observers: Client<true>[],
  ): Promise<{ rest: string | null; caches: Array<string | null> }> {
    const guild = observers[0].guilds.cache.get(p.seed.guildId)!;
    const rest = await guild.voiceStates
      .fetch(userId, { force: true, cache: false })
      .then((v) => v.channelId)
      .catch(() => null);
    const caches = observers.map(
      (c) => c.guilds.cache.get(p.seed.guildId)!.voiceStates.cache.get(userId)?.channelId ?? null,
    );
    return { rest, caches };
  }

  /** Waits until the gateway (REST + both caches) and the voice server all put `userId` in `channelId` (or nowhere). */
  async function agreeOn(
    userId: string,
    channelId: string | null,
    observers: Client<true>[] = [speaker, listener],
  ): Promise<void> {
    let seen: unknown;
    const want = { rest: channelId, caches: observers.map(() => channelId), voice: channelId };
    await waitFor(
      () => JSON.stringify(seen) === JSON.stringify(want),
      10_000,
      `agreement on ${userId} in ${channelId}`,
      async () => {
        const g = await gatewaySays(userId, observers);
        const s = p.voice.server.sessionOf(p.seed.guildId, userId);
        seen = { ...g, voice: s ? s.channelId : null };
      },
    );
    expect(seen).toEqual(want);
  }

  it('each bot sees its guild and channels, and a message sent by one reaches the other', async () => {
    for (const c of [speaker, listener]) {
      const guild = c.guilds.cache.get(p.seed.guildId);
      expect(guild?.name).toBe('Resound');
      const voice = guild!.channels.cache.filter((ch) => ch.type === ChannelType.GuildVoice).map((ch) => ch.id);
      expect(voice.sort()).toEqual([p.seed.voiceChannelId, p.seed.voice2].sort());
      expect(guild!.channels.cache.get(p.seed.textChannelId)?.type).toBe(ChannelType.GuildText);
    }
    const heard = new Promise<string>((resolve) =>
      listener.on('messageCreate', (m) => {
        if (m.author.id === speaker.user.id) resolve(m.content);
      }),
    );
    const channel = speaker.channels.cache.get(p.seed.textChannelId) as TextChannel;
    const sent = await channel.send('hello from discord.js');
    expect(sent.content).toBe('hello from discord.js');
    expect(await heard).toBe('hello from discord.js');
  });

  it('joins voice through guild.voiceAdapterCreator, plays a fixture the other bot receives byte-identical, moves, leaves', async () => {
    const a = join(speaker, p.seed.guildId, p.seed.voiceChannelId);
    const b = join(listener, p.seed.guildId, p.seed.voiceChannelId);
    await Promise.all([
      entersState(a, VoiceConnectionStatus.Ready, 15_000),
      entersState(b, VoiceConnectionStatus.Ready, 15_000),
    ]);
    await agreeOn(speaker.user.id, p.seed.voiceChannelId);
    await agreeOn(listener.user.id, p.seed.voiceChannelId);
    // The voice server admitted each bot under its main-gateway session id.
    const sessionId = p.voice.server.sessionOf(p.seed.guildId, speaker.user.id)!.id;
    expect(speaker.guilds.cache.get(p.seed.guildId)!.voiceStates.cache.get(speaker.user.id)?.sessionId).toBe(sessionId);

    const ta = asTestClient(speaker, a);
    const tb = asTestClient(listener, b);
    await waitForSharedGroup([ta, tb]);
    const { frames, pcm } = fixtureOpusFrames();
    const received = collectFrames(tb, speaker.user.id, frames.length);
    await play(ta, frames);
    const got = await received;
    expect(got.length).toBe(frames.length);
    for (let i = 0; i < frames.length; i++) expect(Buffer.compare(got[i], frames[i])).toBe(0);
    expect(bestCorrelation(pcm, decodeFrames(got))).toBeGreaterThan(0.9);

    // Move: joinVoiceChannel again with another channel → op 4 → new state and a new voice server session.
    join(speaker, p.seed.guildId, p.seed.voice2);
    await agreeOn(speaker.user.id, p.seed.voice2);
    await entersState(a, VoiceConnectionStatus.Ready, 15_000);
    await agreeOn(listener.user.id, p.seed.voiceChannelId);

    // Leave: destroy() sends op 4 with channel_id null.
    a.destroy();
    await agreeOn(speaker.user.id, null);
    await agreeOn(listener.user.id, p.seed.voiceChannelId);
    b.destroy();
    await agreeOn(listener.user.id, null);
    expect(p.voice.server.sessions.size).toBe(0);
  });

  /** A counter series from gateway-lite's internal /metrics (0 when the series has not been seen). */
  async function metric(name: string, labels: string): Promise<number> {
    const text = await (await fetch(`${p.parts[1].urls.internal}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  it('op 4 for a guild it is not in or for a text channel is ignored and counted; an op 4 flood closes with 4008', async () => {
    // A guild outside the session is dropped by the session layer; a text channel by the voice bridge.
    const guild = speaker.guilds.cache.get(p.seed.guildId)!;
    const op4 = (guild_id: string, channel_id: string | null) => ({
      op: 4,
      d: { guild_id, channel_id, self_mute: false, self_deaf: false },
    });
    guild.shard.send(op4('81384788765712384', p.seed.voiceChannelId));
    guild.shard.send(op4(p.seed.guildId, p.seed.textChannelId));
    const ignored = () =>
      Promise.all([
        metric('resound_gateway_lite_ws_commands_ignored_total', 'op="4",reason="guild_not_in_session"'),
        metric('resound_gateway_lite_voice_rejected_total', 'reason="not_voice_channel"'),
      ]);
    let counts = [0, 0];
    await waitFor(
      () => counts[0] === 1 && counts[1] === 1,
      10_000,
      'ignored op 4 counted',
      async () => {
        counts = await ignored();
      },
    );
    await agreeOn(speaker.user.id, null);

    // Past the op 4 budget (10 by default) the session is closed with 4008; discord.js reconnects and identifies.
    const back = new Promise<string>((resolve) => {
      speaker.once(Events.ShardReady, () => resolve('ready'));
      speaker.once(Events.ShardResume, () => resolve('resumed'));
    });
    for (let i = 0; i < 12; i++) guild.shard.send(op4(p.seed.guildId, null));
    let closes = 0;
    await waitFor(
      () => closes === 1,
      10_000,
      'close 4008',
      async () => {
        closes = await metric('resound_gateway_lite_ws_closes_total', 'code="4008",by="server"');
      },
    );
    expect(await metric('resound_gateway_lite_voice_rejected_total', 'reason="flood"')).toBeGreaterThanOrEqual(1);
    // The other bot's session was untouched, and the flooder is back: a message from it reaches the other.
    const heard = new Promise<string>((resolve) =>
      listener.on('messageCreate', (m) => {
        if (m.author.id === speaker.user.id && m.content === 'back') resolve(m.content);
      }),
    );
    // 4008 is "reconnect and identify" for @discordjs/ws: a new session, READY again.
    expect(await back).toBe('ready');
    await (speaker.channels.cache.get(p.seed.textChannelId) as TextChannel).send('back');
    expect(await heard).toBe('back');
  });

  it('an admin kick on the voice server (admin API, 4014) clears the gateway voice state', async () => {
    const b = join(listener, p.seed.guildId, p.seed.voice2);
    await entersState(b, VoiceConnectionStatus.Ready, 15_000);
    await agreeOn(listener.user.id, p.seed.voice2);
    const res = await fetch(
      `${p.voice.internalUrl}/voice/guilds/${p.seed.guildId}/users/${listener.user.id}/disconnect`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${p.voice.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ code: 4014 }),
      },
    );
    expect(res.status).toBe(200);
    await entersState(b, VoiceConnectionStatus.Disconnected, 10_000);
    await agreeOn(listener.user.id, null);
    b.destroy();
  });

  it('a bot whose gateway session ends (client.destroy) leaves voice on both sides', async () => {
    const a = join(speaker, p.seed.guildId, p.seed.voiceChannelId);
    await entersState(a, VoiceConnectionStatus.Ready, 15_000);
    await agreeOn(speaker.user.id, p.seed.voiceChannelId);
    await speaker.destroy();
    await agreeOn(speaker.user.id, null, [listener]);
    expect(await metric('resound_gateway_lite_voice_state_updates_total', 'result="session_ended"')).toBe(1);
  });
});
