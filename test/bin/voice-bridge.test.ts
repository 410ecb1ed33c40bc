import { entersState, VoiceConnectionStatus } from '@discordjs/voice';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snowflake } from '../../common/snowflake.ts';
import { GatewayCloseError } from '../../gateway-lite/index.ts';
import {
  bestCorrelation,
  collectFrames,
  decodeFrames,
  fixtureOpusFrames,
  play,
  waitFor,
  type TestClient,
} from '../../testkit/index.ts';
import { ready, startRig, type GatewayUser, type Rig } from './voice-bridge-helpers.ts';

/** "user@channel" for every gateway voice state and every voice-server session of the guild, sorted. */
async function sides(rig: Rig, guildId: string) {
  const gateway = (await rig.guilds.actor(guildId).snapshot()).voiceStates.map((v) => `${v.userId}@${v.channelId}`);
  const voice = rig.voices.flatMap((gw) =>
    [...gw.server.sessions.values()].filter((s) => s.guildId === guildId).map((s) => `${s.userId}@${s.channelId}`),
  );
  return { gateway: gateway.sort(), voice: voice.sort() };
}

async function agree(rig: Rig, guildId: string, want: string[], what: string) {
  let got = { gateway: [] as string[], voice: [] as string[] };
  const key = [...want].sort().join(',');
  await waitFor(
    () => got.gateway.join(',') === key && got.voice.join(',') === key,
    10_000,
    `${what}: want ${key}, have ${JSON.stringify(got)}`,
    async () => {
      got = await sides(rig, guildId);
    },
  );
  expect(got).toEqual({ gateway: [...want].sort(), voice: [...want].sort() });
}

const gwUser = (userId: string): GatewayUser => ({ userId, sessionId: snowflake() });

describe('voice bridge: op 4 → voice state + voice server, with real @discordjs/voice clients', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig(1);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('joins two users, carries audio byte-identical, then a move and a leave keep both sides in agreement', async () => {
    const s = await rig.seed(2);
    const [a, b] = s.users.map(gwUser);
    const ca = rig.connect(a, s.guildId, s.voice1);
    const cb = rig.connect(b, s.guildId, s.voice1);
    await Promise.all([ready(ca), ready(cb)]);
    await agree(rig, s.guildId, [`${a.userId}@${s.voice1}`, `${b.userId}@${s.voice1}`], 'both joined');
    // The voice server admitted them with the main-gateway session id, as Discord's voice servers do.
    expect(rig.voices[0].server.sessionOf(s.guildId, a.userId)?.id).toBe(a.sessionId);
    const server = rig.dispatches.filter((e) => e.t === 'VOICE_SERVER_UPDATE');
    expect(server.map((e) => e.userIds)).toEqual([[a.userId], [b.userId]]);
    expect(server[0].d).toMatchObject({ guild_id: s.guildId, endpoint: rig.voices[0].endpoint });

    const { frames, pcm } = fixtureOpusFrames();
    const tb = { userId: b.userId, connection: cb } as TestClient;
    const received = collectFrames(tb, a.userId, frames.length);
    await play({ userId: a.userId, connection: ca } as TestClient, frames);
    const got = await received;
    expect(got.map((f) => f.toString('hex'))).toEqual(frames.map((f) => f.toString('hex')));
    expect(bestCorrelation(pcm, decodeFrames(got))).toBeGreaterThan(0.9);

    // Move: the same join call with another channel sends op 4 again; a new server update follows.
    rig.connect(a, s.guildId, s.voice2);
    await agree(rig, s.guildId, [`${a.userId}@${s.voice2}`, `${b.userId}@${s.voice1}`], 'a moved');
    await ready(ca);
    expect(await rig.counter('resound_gateway_lite_voice_state_updates_total', { result: 'move' })).toBe(1);

    // Leave: op 4 with channel_id null; the voice server session ends too.
    ca.destroy();
    await agree(rig, s.guildId, [`${b.userId}@${s.voice1}`], 'a left');
    const last = rig.dispatches.filter((e) => e.t === 'VOICE_STATE_UPDATE').at(-1);
    expect(last?.d).toMatchObject({ user_id: a.userId, channel_id: null, session_id: a.sessionId });
    cb.destroy();
    await agree(rig, s.guildId, [], 'b left');
  });

  it('an admin disconnect on the voice server clears the gateway voice state (VOICE_STATE_UPDATE channel null)', async () => {
    const s = await rig.seed(1);
    const a = gwUser(s.users[0]);
    const ca = rig.connect(a, s.guildId, s.voice1);
    await ready(ca);
    await agree(rig, s.guildId, [`${a.userId}@${s.voice1}`], 'joined');
    expect(rig.voices[0].server.disconnect(s.guildId, a.userId, 4014, 'kicked by a test')).toBe(true);
    await agree(rig, s.guildId, [], 'kicked');
    await entersState(ca, VoiceConnectionStatus.Disconnected, 5000);
    const last = rig.dispatches.filter((e) => e.t === 'VOICE_STATE_UPDATE').at(-1);
    expect(last?.d).toMatchObject({ user_id: a.userId, channel_id: null });
    expect(await rig.counter('resound_gateway_lite_voice_sessions_ended_total', { effect: 'cleared' })).toBeGreaterThan(
      0,
    );
    ca.destroy();
  });

  it('the admin join still works beside the bridge (tokens stay single-use and distinct per join)', async () => {
    const s = await rig.seed(1);
    const g1 = rig.voices[0].server.grantJoin(s.guildId, s.voice1, s.users[0]);
    const g2 = rig.voices[0].server.grantJoin(s.guildId, s.voice1, s.users[0]);
    expect(g1.token).not.toBe(g2.token);
  });
});

describe('voice bridge: bad input', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig(1, { GATEWAY_LITE_VOICE_OP4_BURST: '5', GATEWAY_LITE_VOICE_OP4_REFILL_MS: '60000' });
  });
  afterAll(async () => {
    await rig?.close();
  });

  const op4 = (guild_id: string, channel_id: string | null) => ({
    guild_id,
    channel_id,
    self_mute: false,
    self_deaf: false,
  });

  it('op 4 for a guild the user is not in, or for a text channel, is ignored (no dispatch) and counted', async () => {
    const s = await rig.seed(1);
    const u = gwUser(s.users[0]);
    const before = rig.dispatches.length;
    await rig.bridge.voiceStateUpdate(u, op4(s.otherGuild, snowflake()));
    await rig.bridge.voiceStateUpdate(u, op4(snowflake(), snowflake())); // no such guild at all
    await rig.bridge.voiceStateUpdate(u, op4(s.guildId, s.text));
    await rig.bridge.voiceStateUpdate(u, op4(s.guildId, snowflake())); // no such channel
    expect(rig.dispatches.length).toBe(before);
    expect(await rig.counter('resound_gateway_lite_voice_rejected_total', { reason: 'not_member' })).toBe(2);
    expect(await rig.counter('resound_gateway_lite_voice_rejected_total', { reason: 'not_voice_channel' })).toBe(2);
    expect((await rig.guilds.actor(s.guildId).snapshot()).voiceStates).toEqual([]);
  });

  it('a malformed op 4 closes the session with 4002', async () => {
    const u = gwUser(snowflake());
    const bad = [{ guild_id: 12, channel_id: null }, { guild_id: '1', channel_id: 'x' }, null];
    for (const d of bad) {
      const err = await rig.bridge.voiceStateUpdate(u, d as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatewayCloseError);
      expect((err as GatewayCloseError).code).toBe(4002);
    }
    expect(await rig.counter('resound_gateway_lite_voice_rejected_total', { reason: 'malformed' })).toBe(3);
  });

  it('an op 4 flood closes the session with 4008 once the budget is spent; other sessions are untouched', async () => {
    const s = await rig.seed(2);
    const flooder = gwUser(s.users[0]);
    const other = gwUser(s.users[1]);
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      await rig.bridge
        .voiceStateUpdate(flooder, op4(s.guildId, s.voice1))
        .then(() => codes.push(0))
        .catch((e: GatewayCloseError) => codes.push(e.code));
    }
    expect(codes).toEqual([0, 0, 0, 0, 0, 4008, 4008, 4008]);
    expect(await rig.counter('resound_gateway_lite_voice_rejected_total', { reason: 'flood' })).toBe(3);
    await rig.bridge.voiceStateUpdate(other, op4(s.guildId, s.voice1));
    const states = (await rig.guilds.actor(s.guildId).snapshot()).voiceStates.map((v) => v.userId).sort();
    expect(states).toEqual([flooder.userId, other.userId].sort());
  });
});

describe('voice bridge: a voice server that dies', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig(2);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('re-places its users: VOICE_SERVER_UPDATE with the other endpoint, the client reconnects there', async () => {
    const s = await rig.seed(1);
    const a = gwUser(s.users[0]);
    const ca = rig.connect(a, s.guildId, s.voice1);
    await ready(ca);
    const host = rig.voices.findIndex((gw) => gw.server.sessionOf(s.guildId, a.userId));
    expect(host).toBeGreaterThanOrEqual(0);
    const survivor = rig.voices[1 - host];
    await rig.killVoice(host);
    await waitFor(() => survivor.server.sessionOf(s.guildId, a.userId) !== undefined, 10_000, 're-placed session');
    await ready(ca);
    const updates = rig.dispatches.filter((e) => e.t === 'VOICE_SERVER_UPDATE').map((e) => e.d);
    expect(updates.at(-1)).toMatchObject({ endpoint: survivor.endpoint });
    expect(
      await rig.counter('resound_gateway_lite_voice_server_updates_total', { cause: 'server_gone', endpoint: 'live' }),
    ).toBe(1);
    expect((await rig.guilds.actor(s.guildId).snapshot()).voiceStates.map((v) => v.channelId)).toEqual([s.voice1]);
    ca.destroy();
  });
});
