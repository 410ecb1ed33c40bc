import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../signaling/index.ts';
import { fixtureOpusFrames, newId, rawClient, startTestGateway, waitFor } from '../../testkit/index.ts';
import { makeProxy, type TestProxy } from '../media-proxy/helpers.ts';

describe('voice: admin API and /metrics only on the internal listener', () => {
  let gw: VoiceGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  const join = (base: string) =>
    fetch(`${base}/voice/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
      body: JSON.stringify({ guild_id: newId(), channel_id: newId(), user_id: newId() }),
    });

  it('public listeners answer 404 for /metrics and the admin API, even with the admin token', async () => {
    for (const base of [gw.httpsUrl, gw.httpUrl!]) {
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
      expect((await join(base)).status).toBe(404);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    }
  });

  it('the internal listener is on loopback by default and serves both', async () => {
    expect(new URL(gw.internalUrl).hostname).toBe('127.0.0.1');
    expect((await join(gw.internalUrl)).status).toBe(200);
    const m = await fetch(`${gw.internalUrl}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toMatch(/resound_signaling_joins_total [1-9]/);
  });

  it('per-stream series are labelled by SSRC, never by user id', async () => {
    const guild = newId();
    const channel = newId();
    const a = await rawClient(gw, guild, channel);
    const b = await rawClient(gw, guild, channel);
    const heard: Buffer[] = [];
    b.on('frame', (f) => heard.push(f.payload));
    await waitFor(() => b.ssrcs.size === 1, 3000, 'B to learn A');
    a.setSpeaking(1);
    a.sendOpus(fixtureOpusFrames().frames[0]);
    await waitFor(() => heard.length === 1, 3000, 'a frame through the SFU');
    const text = await (await fetch(`${gw.internalUrl}/metrics`)).text();
    expect(text).toMatch(/resound_sfu_stream_packets\{ssrc="\d+"\} [1-9]/);
    expect(text).not.toContain(a.opts.userId);
    expect(text).not.toContain(b.opts.userId);
    a.close();
    b.close();
  });
});

describe('media proxy: /metrics only on the internal listener', () => {
  let t: TestProxy;
  beforeAll(async () => {
    t = await makeProxy();
  });
  afterAll(async () => t?.close());

  it('public 404, internal 200', async () => {
    const pub = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const internal = await t.internal.listen({ port: 0, host: '127.0.0.1' });
    expect((await fetch(`${pub}/metrics`)).status).toBe(404);
    const m = await fetch(`${internal}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toMatch(/resound_media_proxy_/);
  });
});
