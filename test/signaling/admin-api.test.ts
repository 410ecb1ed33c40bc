import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VoiceGateway } from '../../signaling/index.ts';
import fs from 'node:fs';
import {
  VoiceClient,
  counterValue,
  fixtureOpusFrames,
  newId,
  rawClient,
  startTestGateway,
  waitFor,
  waitForCounter,
} from '../../testkit/index.ts';

describe('admin API over a real socket', () => {
  let gw: VoiceGateway;
  const guild = newId();
  const channel = newId();
  const { frames } = fixtureOpusFrames();
  const call = (path: string, body: unknown, token = gw.adminToken) =>
    fetch(`${gw.internalUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('refuses requests without the admin token, naming the fix', async () => {
    const res = await call('/voice/join', { guild_id: guild, channel_id: channel, user_id: '1' }, 'wrong');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Authorization: Bearer/);
  });

  it('validates the join body', async () => {
    const res = await call('/voice/join', { guild_id: 'abc', channel_id: channel });
    expect(res.status).toBe(400);
  });

  it('accepts only snowflake strings within range, answering 400 naming the field and counting it', async () => {
    const rejected = () => counterValue(gw, 'resound_signaling_rejected_total', { reason: 'admin_invalid_id' });
    const before = await rejected();
    const user = newId();
    // A JSON number is refused, never rounded: JSON.parse turns 81384788765712384 into …380, another guild.
    const raw = await fetch(`${gw.internalUrl}/voice/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
      body: `{"guild_id":81384788765712384,"channel_id":"${channel}","user_id":"${user}"}`,
    });
    expect(raw.status).toBe(400);
    const body = (await raw.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_snowflake');
    expect(body.error.message).toMatch(/^guild_id must be a snowflake as a decimal string/);
    const cases: [Record<string, unknown>, string][] = [
      [{ guild_id: guild, channel_id: '0', user_id: user }, 'channel_id'],
      [{ guild_id: guild, channel_id: channel, user_id: '18446744073709551616' }, 'user_id'],
      [{ guild_id: guild, channel_id: channel, user_id: '99999999999999999999' }, 'user_id'],
      [{ guild_id: '0123', channel_id: channel, user_id: user }, 'guild_id'],
      [{ guild_id: guild, channel_id: true, user_id: user }, 'channel_id'],
    ];
    for (const [b, field] of cases) {
      const res = await call('/voice/join', b);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(new RegExp(`^${field} `));
    }
    // The largest unsigned 64-bit value is a valid id.
    const max = '18446744073709551615';
    expect((await call('/voice/join', { guild_id: max, channel_id: max, user_id: max })).status).toBe(200);
    const mute = await call(`/voice/guilds/0/users/${user}/mute`, { mute: true });
    expect(mute.status).toBe(400);
    expect(((await mute.json()) as { error: { message: string } }).error.message).toMatch(/^guildId /);
    const deafen = await call(`/voice/guilds/${guild}/users/18446744073709551616/deafen`, { deaf: true });
    expect(deafen.status).toBe(400);
    expect(await rejected()).toBe(before + cases.length + 3);
  });

  it('join returns an endpoint, token and session a client connects with; mute, deafen and disconnect act on it', async () => {
    const userA = newId();
    const res = await call('/voice/join', { guild_id: guild, channel_id: channel, user_id: userA });
    expect(res.status).toBe(200);
    const grant = (await res.json()) as { endpoint: string; token: string; session_id: string };
    expect(grant.endpoint).toBe(gw.endpoint);
    const a = await new VoiceClient({
      url: `wss://${grant.endpoint}/?v=8`,
      serverId: guild,
      userId: userA,
      sessionId: grant.session_id,
      token: grant.token,
      ca: fs.readFileSync(gw.certPath),
    }).connect();
    const b = await rawClient(gw, guild, channel);
    const heard: Buffer[] = [];
    b.on('frame', (f) => heard.push(f.payload));
    await waitFor(() => b.ssrcs.size === 1, 3000, 'B to learn A');
    a.setSpeaking(1);
    a.sendOpus(frames[0]);
    await waitFor(() => heard.length === 1, 3000, 'first frame');

    const forwarded = () => counterValue(gw, 'resound_sfu_packets_forwarded_total');
    const mutedDrops = () => counterValue(gw, 'resound_sfu_dropped_total', { reason: 'server_muted' });
    expect((await call(`/voice/guilds/${guild}/users/${userA}/mute`, { mute: true })).status).toBe(200);
    const [sentBefore, dropsBefore] = [await forwarded(), await mutedDrops()];
    for (const f of frames.slice(1, 4)) a.sendOpus(f);
    // Positive signal: the SFU has handled all three muted frames (each counted as a server_muted drop)…
    let drops = dropsBefore;
    await waitFor(
      () => drops === dropsBefore + 3,
      3000,
      'three server_muted drops',
      async () => void (drops = await mutedDrops()),
    );
    // …and sent none of them to anyone.
    expect(await forwarded()).toBe(sentBefore);
    expect(heard.filter((f) => f.length !== 3)).toHaveLength(1); // muted speech never reaches B
    expect((await call(`/voice/guilds/${guild}/users/${userA}/mute`, { mute: false })).status).toBe(200);
    a.sendOpus(frames[4]);
    await waitFor(() => heard.some((f) => f.equals(frames[4])), 3000, 'audio after unmute');

    expect((await call(`/voice/guilds/${guild}/users/${b.opts.userId}/deafen`, { deaf: true })).status).toBe(200);
    const before = heard.length;
    const sentToB = await forwarded();
    const packetsOfA = () => counterValue(gw, 'resound_sfu_stream_packets', { ssrc: String(a.ssrc) });
    const received = await packetsOfA();
    a.sendOpus(frames[5]);
    // Positive signal: the SFU received and routed A's frame; B (its only listener) is deafened, so nothing went out.
    await waitForCounter(
      gw,
      'resound_sfu_stream_packets',
      { ssrc: String(a.ssrc) },
      received + 1,
      3000,
      "the SFU to receive A's frame",
    );
    expect(await forwarded()).toBe(sentToB);
    expect(heard.length).toBe(before);
    expect((await call(`/voice/guilds/${guild}/users/${b.opts.userId}/deafen`, { deaf: false })).status).toBe(200);
    a.sendOpus(frames[6]);
    await waitFor(() => heard.some((f) => f.equals(frames[6])), 3000, 'audio after undeafen');

    expect((await call(`/voice/guilds/${guild}/users/${newId()}/mute`, { mute: true })).status).toBe(404);
    const closed = new Promise<number>((r) => a.ws.on('close', (code) => r(code)));
    expect((await call(`/voice/guilds/${guild}/users/${userA}/disconnect`, { code: 4014 })).status).toBe(200);
    expect(await closed).toBe(4014);
    a.close();
    b.close();
  });

  it('serves /healthz and Prometheus /metrics', async () => {
    const h = await fetch(`${gw.httpUrl}/healthz`);
    expect(h.status).toBe(200);
    expect(((await h.json()) as { ok: boolean }).ok).toBe(true);
    const m = await (await fetch(`${gw.internalUrl}/metrics`)).text();
    expect(m).toMatch(/resound_signaling_sessions/);
    expect(m).toMatch(/resound_sfu_dropped_total|resound_sfu_datagrams_in_total/);
    expect(m).toMatch(/resound_process_cpu/);
  });
});
