import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { VoiceGateway } from '../../../signaling/index.ts';
import { collectFrames, fixtureOpusFrames, joinClient, newId, play, startTestGateway } from '../../../testkit/index.ts';
import { launchChromium } from './chromium.ts';
import { joinDemo, requireWebRtcWorker, waitHeard } from './helpers.ts';

describe('a mediasoup worker killed mid-call', () => {
  let gw: VoiceGateway;
  let browser: Browser;
  const guild = '100000000000000001';

  beforeAll(async () => {
    await requireWebRtcWorker();
    gw = await startTestGateway({ SFU_WEBRTC_WORKERS: '2', VOICE_DEMO_GUILD_ID: guild });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('the browser is told to rejoin (4006) and does; native clients keep talking throughout', async () => {
    const channel = newId();
    const a = await joinClient(gw, guild, channel);
    const b = await joinClient(gw, guild, channel);
    const page = await joinDemo(browser, gw, channel);
    try {
      const { frames } = fixtureOpusFrames();
      let talking = true;
      const talk = (async () => {
        while (talking) await play(a, frames);
      })();
      await waitHeard(page.page, a.userId);

      const wch = await gw.webrtc!.existing(`${guild}:${channel}`);
      const slot = gw.webrtc!.workers!.live.find((s) => s.index === wch!.workerSlot)!;
      // B must hear A across the kill: start collecting before it, expect a few seconds' worth.
      const heardAcross = collectFrames(b, a.userId, 3 * frames.length, 60_000);
      process.kill(slot.worker.pid, 'SIGKILL');

      await page.page.waitForFunction(
        'window.resoundJoins === 2 && window.resoundDemo.phase === "connected"',
        undefined,
        {
          timeout: 30_000,
        },
      );
      expect(await page.page.evaluate('window.resoundJoins')).toBe(2);
      const again = await waitHeard(page.page, a.userId, 30_000);
      expect(again.packets).toBeGreaterThan(0);
      expect((await heardAcross).length).toBe(3 * frames.length);
      talking = false;
      await talk;
    } finally {
      a.destroy();
      b.destroy();
      await page.close();
    }
  });
});
