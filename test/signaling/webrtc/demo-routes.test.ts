import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../../signaling/index.ts';
import { Close, Op } from '../../../signaling/index.ts';
import { counterValue, newId, startTestGateway } from '../../../testkit/index.ts';
import { RawBrowser } from './helpers.ts';

async function postJoin(gw: VoiceGateway, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gw.httpUrl}/demo/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the demo page routes (loopback bind: on by default)', () => {
  let gw: VoiceGateway;
  beforeAll(async () => {
    // Browser voice off: the page and its script are served, joins say why they cannot work.
    gw = await startTestGateway({ VOICE_WEBRTC: 'off' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('GET /demo serves the page under a strict content security policy', async () => {
    const res = await fetch(`${gw.httpUrl}/demo`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect(await res.text()).toContain('<script type="module" src="/demo/page.js">');
    expect(gw.demoUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/demo$/);
  });

  it('GET /demo/page.js is the compiled client, SDP builder included, small', async () => {
    const res = await fetch(`${gw.httpUrl}/demo/page.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    const js = await res.text();
    expect(js).toContain('a=ice-lite');
    expect(js).not.toMatch(/\binterface\b|: string\)/);
    expect(js.length).toBeLessThan(30_000);
  });

  it('POST /demo/join refuses a bad channel id (400) and says why browser voice is unavailable (503)', async () => {
    const bad = await postJoin(gw, { channel_id: 12 });
    expect(bad.status).toBe(400);
    expect((bad.body.error as { code: string }).code).toBe('invalid_channel');
    const off = await postJoin(gw, { channel_id: '1000' });
    expect(off.status).toBe(503);
    expect((off.body.error as { message: string }).message).toMatch(/VOICE_WEBRTC=off/);
  });

  it('a browser selecting "webrtc" there is told it is off (4012), counted', async () => {
    const c = new RawBrowser(gw, newId(), newId());
    await c.next(Op.Ready);
    c.send(Op.SelectProtocol, { protocol: 'webrtc', data: { channel_id: '1000' } });
    expect(await c.closed).toBe(Close.UnknownProtocol);
    expect(c.closeReason).toMatch(/browser voice is off/);
    expect(await counterValue(gw, 'resound_signaling_rejected_total', { reason: 'webrtc_unavailable' })).toBe(1);
  });
});

describe('the demo page routes when VOICE_DEMO=off', () => {
  let gw: VoiceGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ VOICE_DEMO: 'off' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('neither the page nor the join route exists', async () => {
    expect((await fetch(`${gw.httpUrl}/demo`)).status).toBe(404);
    expect((await postJoin(gw, { channel_id: '1000' })).status).toBe(404);
    expect(gw.demoUrl).toBeNull();
  });
});
