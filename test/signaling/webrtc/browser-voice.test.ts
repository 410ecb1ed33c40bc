import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EndBehaviorType } from '@discordjs/voice';
import type { Browser } from 'playwright-core';
import type { VoiceGateway } from '../../../signaling/index.ts';
import {
  decodeFrames,
  fixtureOpusFrames,
  joinClient,
  newId,
  play,
  startTestGateway,
  counterValue,
  type TestClient,
} from '../../../testkit/index.ts';
import { isOpusSilence } from '../../../sfu/index.ts';
import { launchChromium } from './chromium.ts';
import { joinDemo, requireWebRtcWorker, waitHeard, type DemoPage } from './helpers.ts';

/** Root-mean-square of 16-bit PCM, 0..32767. */
function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const v of pcm) sum += v * v;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

describe('voice in the browser: the demo page in headless Chromium with native @discordjs/voice clients', () => {
  let gw: VoiceGateway;
  let browser: Browser;
  const pages: DemoPage[] = [];
  const natives: TestClient[] = [];
  const guild = '100000000000000001';

  beforeAll(async () => {
    await requireWebRtcWorker();
    gw = await startTestGateway({ SFU_WEBRTC_WORKERS: '1', VOICE_DEMO_GUILD_ID: guild });
    browser = await launchChromium();
  });
  // Each test leaves nothing running: the machine has two cores for Chromium, mediasoup and the native clients.
  afterEach(async () => {
    for (const n of natives.splice(0)) n.destroy();
    for (const p of pages.splice(0)) await p.close().catch(() => undefined);
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('the page joins; its op 4 stays within 1,000 bytes; a native client decodes the browser’s microphone', async () => {
    const channel = newId();
    const page = await joinDemo(browser, gw, channel);
    pages.push(page);
    expect(page.descriptions).toHaveLength(1);
    expect(Buffer.byteLength(page.descriptions[0])).toBeLessThanOrEqual(1000);
    const desc = JSON.parse(page.descriptions[0]) as { d: { mode: string; candidates: unknown[] } };
    expect(desc.d.mode).toBe('webrtc');
    expect(desc.d.candidates.length).toBeGreaterThan(0);

    const native = await joinClient(gw, guild, channel);
    natives.push(native);
    // The fake microphone beeps; collect a few seconds of the browser's Opus and look for sound in it.
    const stream = native.connection.receiver.subscribe(page.userId, { end: { behavior: EndBehaviorType.Manual } });
    const frames: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${frames.length} frames from the browser`)), 20_000);
      stream.on('data', (chunk: Buffer) => {
        if (!isOpusSilence(chunk, 0, chunk.length)) frames.push(chunk);
        if (frames.length >= 150) {
          clearTimeout(timer);
          stream.destroy();
          resolve();
        }
      });
    });
    const pcm = decodeFrames(frames);
    expect(pcm.length).toBeGreaterThan(150 * 960);
    expect(rms(pcm)).toBeGreaterThan(100);
  });

  it('audio a native client plays reaches the browser (getStats: packets and audio level)', async () => {
    const channel = newId();
    const native = await joinClient(gw, guild, channel);
    natives.push(native);
    const page = await joinDemo(browser, gw, channel);
    pages.push(page);
    const { frames } = fixtureOpusFrames();
    const playing = (async () => {
      for (let i = 0; i < 4; i++) await play(native, frames);
    })();
    const heard = await waitHeard(page.page, native.userId);
    expect(heard.packets).toBeGreaterThan(0);
    expect(Math.max(heard.audioLevel, heard.energy)).toBeGreaterThan(0);
    await playing;
  });

  it('two browsers in one channel hear each other', async () => {
    const channel = newId();
    const a = await joinDemo(browser, gw, channel);
    const b = await joinDemo(browser, gw, channel);
    pages.push(a, b);
    const [ab, ba] = await Promise.all([waitHeard(a.page, b.userId), waitHeard(b.page, a.userId)]);
    expect(ab.packets).toBeGreaterThan(0);
    expect(ba.packets).toBeGreaterThan(0);
    // Each page lists the other, and (the fake microphone beeps) sees them speak at some point.
    await a.page.waitForSelector(`#people li[data-user-id="${b.userId}"]`);
    await b.page.waitForSelector(`#people li[data-user-id="${a.userId}"]`);
  });

  it('a browser whose DTLS fingerprint does not match its certificate is closed with 4004, counted; others hear on', async () => {
    const channel = newId();
    const a = await joinDemo(browser, gw, channel);
    const b = await joinDemo(browser, gw, channel);
    pages.push(a, b);
    await waitHeard(b.page, a.userId);
    const before = await counterValue(gw, 'resound_signaling_rejected_total', { reason: 'webrtc_dtls_failed' });
    const forged = Array.from({ length: 32 }, () => '5A').join(':');
    const liar = await joinDemo(browser, gw, channel, {
      tamper: (m) => (m.startsWith('{"op":40,') ? m.replace(/"value":"[0-9A-F:]+"/, `"value":"${forged}"`) : m),
      until: 'window.resoundDemo?.closeCode === 4004',
    });
    pages.push(liar);
    expect(await counterValue(gw, 'resound_signaling_rejected_total', { reason: 'webrtc_dtls_failed' })).toBe(
      before + 1,
    );
    const [ab, ba] = await Promise.all([waitHeard(a.page, b.userId), waitHeard(b.page, a.userId)]);
    expect(ab.packets + ba.packets).toBeGreaterThan(0);
    expect(await a.page.evaluate('window.resoundDemo.phase')).toBe('connected');
  });
});
