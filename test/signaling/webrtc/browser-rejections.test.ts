import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../../signaling/index.ts';
import { Close, Op } from '../../../signaling/index.ts';
import { counterValue, newId, startTestGateway } from '../../../testkit/index.ts';
import { RawBrowser, requireWebRtcWorker } from './helpers.ts';

const REJECTED = 'resound_signaling_rejected_total';
const SHA256 = Array.from({ length: 32 }, () => 'AB').join(':');

/** A raw browser session that got its op 4 (a WebRTC transport exists for it). */
async function described(gw: VoiceGateway, guild: string, channel: string): Promise<RawBrowser> {
  const c = new RawBrowser(gw, guild, channel);
  await c.next(Op.Ready);
  c.send(Op.SelectProtocol, { protocol: 'webrtc', data: { channel_id: channel } });
  await c.next(Op.SessionDescription);
  return c;
}

describe('browser voice: bad input closes the offending session with a clear code, counted; others untouched', () => {
  let gw: VoiceGateway;
  const clients: RawBrowser[] = [];
  const guild = newId();
  const channel = newId();
  let bystander: RawBrowser;

  beforeAll(async () => {
    await requireWebRtcWorker();
    gw = await startTestGateway({ SFU_WEBRTC_WORKERS: '1', VOICE_WEBRTC_MAX_PER_IP: '3' });
    bystander = await described(gw, guild, channel);
    clients.push(bystander);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await gw?.close();
  });

  const track = (c: RawBrowser) => (clients.push(c), c);

  it('a description request for a channel the session is not in → 4020', async () => {
    const before = await counterValue(gw, REJECTED, { reason: 'webrtc_foreign_channel' });
    const c = track(new RawBrowser(gw, guild, channel));
    await c.next(Op.Ready);
    c.send(Op.SelectProtocol, { protocol: 'webrtc', data: { channel_id: newId() } });
    expect(await c.closed).toBe(Close.BadRequest);
    expect(c.closeReason).toMatch(/is in channel/);
    expect(c.messages.some((m) => m.op === Op.SessionDescription)).toBe(false);
    expect(await counterValue(gw, REJECTED, { reason: 'webrtc_foreign_channel' })).toBe(before + 1);
    expect(bystander.open).toBe(true);
  });

  it('a bogus DTLS fingerprint → 4002', async () => {
    const before = await counterValue(gw, REJECTED, { reason: 'webrtc_bad_dtls' });
    const c = track(await described(gw, guild, channel));
    c.send(Op.WebRtcConnect, { role: 'client', fingerprint: { algorithm: 'sha-256', value: 'AB:CD:zz' } });
    expect(await c.closed).toBe(Close.DecodeError);
    expect(c.closeReason).toMatch(/bogus DTLS parameters: fingerprint.value/);
    expect(await counterValue(gw, REJECTED, { reason: 'webrtc_bad_dtls' })).toBe(before + 1);
    expect(bystander.open).toBe(true);
  });

  it('DTLS parameters twice → 4020', async () => {
    const before = await counterValue(gw, REJECTED, { reason: 'webrtc_connect_twice' });
    const c = track(await described(gw, guild, channel));
    const dtls = { role: 'client', fingerprint: { algorithm: 'sha-256', value: SHA256 } };
    c.send(Op.WebRtcConnect, dtls);
    c.send(Op.WebRtcConnect, dtls);
    expect(await c.closed).toBe(Close.BadRequest);
    expect(await counterValue(gw, REJECTED, { reason: 'webrtc_connect_twice' })).toBe(before + 1);
    expect(bystander.open).toBe(true);
  });

  it('a transport flood from one address → 4021 past VOICE_WEBRTC_MAX_PER_IP', async () => {
    const before = await counterValue(gw, REJECTED, { reason: 'webrtc_transport_flood' });
    // The bystander holds one of the three; two more fit, the next is refused.
    const ok = [track(await described(gw, guild, newId())), track(await described(gw, guild, newId()))];
    const c = track(new RawBrowser(gw, guild, channel));
    await c.next(Op.Ready);
    c.send(Op.SelectProtocol, { protocol: 'webrtc', data: { channel_id: channel } });
    expect(await c.closed).toBe(Close.RateLimited);
    expect(c.closeReason).toMatch(/at most 3 browser voice transports/);
    expect(await counterValue(gw, REJECTED, { reason: 'webrtc_transport_flood' })).toBe(before + 1);
    expect(ok.every((x) => x.open)).toBe(true);
    expect(bystander.open).toBe(true);
  });

  it('ops 40/41 before a webrtc description → 4020', async () => {
    const before = await counterValue(gw, REJECTED, { reason: 'webrtc_early' });
    const c = track(new RawBrowser(gw, guild, channel));
    await c.next(Op.Ready);
    c.send(Op.WebRtcProduce, { ssrc: 1234 });
    expect(await c.closed).toBe(Close.BadRequest);
    expect(await counterValue(gw, REJECTED, { reason: 'webrtc_early' })).toBe(before + 1);
  });
});
