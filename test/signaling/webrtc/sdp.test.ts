import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildOffer, readAnswer, RemoteOffer } from '../../../signaling/webrtc/sdp.ts';
import { BROWSER_OPUS, describeBrowser, descriptionBytes } from '../../../signaling/webrtc/description.ts';
import type { WebRtcDescription } from '../../../signaling/webrtc/wire.ts';
import { launchChromium } from './chromium.ts';
import { bundleBrowserModule } from '../../../signaling/demo/bundle.ts';
import { fileURLToPath } from 'node:url';

const hex = (n: number) =>
  Array.from({ length: n }, (_, i) => ((i * 37 + 11) & 0xff).toString(16).padStart(2, '0').toUpperCase()).join(':');

/** The largest description the server can produce: longest IPv4, both candidate kinds, 20-digit session id. */
function worstCase(): WebRtcDescription {
  return describeBrowser(
    {
      iceParameters: { usernameFragment: 'u'.repeat(32), password: 'p'.repeat(32) },
      iceCandidates: [
        { address: '255.255.255.255', port: 65535, protocol: 'udp', priority: 1076302079 },
        { address: '255.255.255.255', port: 65535, protocol: 'tcp', priority: 1076276479 },
      ],
      dtlsParameters: {
        fingerprints: [
          { algorithm: 'sha-512', value: hex(64) },
          { algorithm: 'sha-256', value: hex(32) },
        ],
      },
    },
    { ssrc: 0xffffffff, mediaSessionId: '18446744073709551615' },
  );
}

/** Chromium answers each offer in turn on one peer connection (see answer-probe.browser.ts). */
async function answerIn(page: Page, offers: string[]): Promise<string[]> {
  return (await page.evaluate(`answerOffers(${JSON.stringify(offers)})`)) as string[];
}

describe('browser session description and SDP builder', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    const probe = await bundleBrowserModule(fileURLToPath(new URL('./answer-probe.browser.ts', import.meta.url)));
    await page.addScriptTag({ content: probe, type: 'module' });
    await page.waitForFunction('typeof answerOffers === "function"');
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('the largest possible description stays within 1,000 bytes', () => {
    const desc = worstCase();
    expect(desc.dtls.algorithm).toBe('sha-256');
    expect(desc.candidates).toHaveLength(2);
    expect(descriptionBytes(desc)).toBeLessThanOrEqual(1000);
  });

  it('Chromium accepts the offer, answers active with its fingerprint and the microphone SSRC', async () => {
    const desc = worstCase();
    desc.candidates = [['127.0.0.1', 40000, 'udp', 1076302079]];
    const offer = buildOffer(desc, [
      { userId: '111', ssrc: 1234 },
      { userId: '222', ssrc: 5678 },
    ]);
    const [answer] = await answerIn(page, [offer]);
    const facts = readAnswer(answer);
    expect(facts.dtls.role).toBe('client');
    expect(facts.dtls.fingerprint.algorithm).toBe('sha-256');
    expect(facts.dtls.fingerprint.value).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(facts.micSsrc).toBeGreaterThan(0);
    // Three m-lines came back: the microphone sends, the two remote users' lines receive.
    expect(answer.match(/^m=audio/gm)).toHaveLength(3);
    expect(answer).toMatch(/a=mid:0\r\n(?:[^m].*\r\n)*?a=sendonly/);
    expect(answer.match(/a=recvonly/g)).toHaveLength(2);
  });

  it('renegotiation: users arrive, leave, and a freed line is reused', async () => {
    const desc = worstCase();
    desc.candidates = [['127.0.0.1', 40000, 'udp', 1076302079]];
    const offer = new RemoteOffer(desc);
    const offers = [offer.toSdp()];
    expect(offer.setStream('111', 1111)).toBe('1');
    expect(offer.setStream('222', 2222)).toBe('2');
    offers.push(offer.toSdp());
    offer.remove('111');
    offers.push(offer.toSdp());
    expect(offer.setStream('333', 3333)).toBe('1');
    offers.push(offer.toSdp());
    const answers = await answerIn(page, offers);
    expect(answers).toHaveLength(4);
    expect(answers[1].match(/a=recvonly/g)).toHaveLength(2);
    expect(answers[2].match(/a=inactive/g)).toHaveLength(1);
    expect(answers[3].match(/a=recvonly/g)).toHaveLength(2);
    expect(answers[3].match(/^m=audio/gm)).toHaveLength(3);
    for (const a of answers) expect(readAnswer(a).micSsrc).toBe(readAnswer(answers[0]).micSsrc);
  });

  it('the default codec is Opus 111 with in-band FEC and the audio-level extension', () => {
    const sdp = buildOffer(worstCase(), []);
    expect(sdp).toContain(`a=rtpmap:${BROWSER_OPUS.pt} opus/48000/2`);
    expect(sdp).toContain('a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level');
    expect(sdp).toContain('a=ice-lite');
    expect(sdp.endsWith('\r\n')).toBe(true);
  });
});
