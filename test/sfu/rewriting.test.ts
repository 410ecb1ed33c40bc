import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../signaling/index.ts';
import {
  type ReceivedFrame,
  type VoiceClient,
  fixtureOpusFrames,
  newId,
  rawClient,
  startTestGateway,
  waitFor,
} from '../../testkit/index.ts';

describe('silence synthesis and per-receiver sequence rewriting through the real SFU', () => {
  let gw: VoiceGateway;
  let a: VoiceClient;
  let b: VoiceClient;
  const got: ReceivedFrame[] = [];
  const { frames } = fixtureOpusFrames();

  beforeAll(async () => {
    gw = await startTestGateway({ SFU_SILENCE_SYNTHESIS: 'gap', SFU_SILENCE_GAP_MS: '60' });
    const guild = newId();
    const channel = newId();
    a = await rawClient(gw, guild, channel);
    b = await rawClient(gw, guild, channel);
    b.on('frame', (f) => got.push(f));
    await waitFor(() => b.ssrcs.size === 1, 3000, 'B to learn A');
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    await gw?.close();
  });

  it('a speaker who vanishes mid-talk is closed with five silence frames; what follows stays gap-free', async () => {
    a.setSpeaking(1);
    for (const f of frames.slice(0, 5)) a.sendOpus(f);
    await waitFor(() => got.length >= 10, 3000, 'five frames plus the synthesized tail');
    const tail = got.slice(5, 10);
    expect(tail.every((f) => f.payload.equals(Buffer.from([0xf8, 0xff, 0xfe])))).toBe(true);
    // Speech resumes with the sender's own next sequence number; the receiver sees it continue after the tail.
    for (const f of frames.slice(5, 8)) a.sendOpus(f);
    await waitFor(() => got.length >= 13, 3000, 'speech after the tail');
    for (let i = 1; i < got.length; i++) {
      expect(got[i].sequence).toBe((got[i - 1].sequence + 1) & 0xffff);
      expect((got[i].timestamp - got[i - 1].timestamp) >>> 0).toBeGreaterThanOrEqual(960);
    }
    for (let i = 1; i < 10; i++) expect((got[i].timestamp - got[i - 1].timestamp) >>> 0).toBe(960);
    const synthesized = await gw.registry.getSingleMetric('resound_sfu_silence_frames_synthesized_total')!.get();
    expect(synthesized.values[0].value).toBe(5);
  });
});
