import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VoiceGateway } from '../../signaling/index.ts';
import fs from 'node:fs';
import { VoiceClient, fixtureOpusFrames, newId, rawClient, startTestGateway, waitFor } from '../../testkit/index.ts';

describe('admin API over a real socket', () => {
  let gw: VoiceGateway;
  const guild = newId();
  const channel = newId();
  const { frames } = fixtureOpusFrames();
  const call = (path: string, body: unknown, token = gw.adminToken) =>
    fetch(`${gw.httpUrl}${path}`, {
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

  it('join returns endpoint, token, session a client connects with; mute, deafen, disconnect act on it', async () => {
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

    expect((await call(`/voice/guilds/${guild}/users/${userA}/mute`, { mute: true })).status).toBe(200);
    for (const f of frames.slice(1, 4)) a.sendOpus(f);
    await new Promise((r) => setTimeout(r, 100));
    expect(heard.filter((f) => f.length !== 3)).toHaveLength(1); // muted speech never reaches B
    expect((await call(`/voice/guilds/${guild}/users/${userA}/mute`, { mute: false })).status).toBe(200);
    a.sendOpus(frames[4]);
    await waitFor(() => heard.some((f) => f.equals(frames[4])), 3000, 'audio after unmute');

    expect((await call(`/voice/guilds/${guild}/users/${b.opts.userId}/deafen`, { deaf: true })).status).toBe(200);
    const before = heard.length;
    a.sendOpus(frames[5]);
    await new Promise((r) => setTimeout(r, 100));
    expect(heard.length).toBe(before);

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
    const m = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(m).toMatch(/resound_signaling_sessions/);
    expect(m).toMatch(/resound_sfu_dropped_total|resound_sfu_datagrams_in_total/);
    expect(m).toMatch(/resound_process_cpu/);
  });
});
