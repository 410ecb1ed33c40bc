/**
 * When the SFU synthesises a silence tail (issue 11 item 6): by default only for a sender that vanished — transport
 * closed, op 5 speaking off without its own tail, or nothing for SFU_SILENCE_VANISH_MS — never inside a talk spurt
 * that merely stalled; and `off` turns it off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../signaling/index.ts';
import {
  counterValue,
  fixtureOpusFrames,
  newId,
  rawClient,
  startTestGateway,
  waitFor,
  type ReceivedFrame,
  type VoiceClient,
} from '../../testkit/index.ts';

const { frames } = fixtureOpusFrames();
const SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);
const isSilence = (f: ReceivedFrame) => f.payload.equals(SILENCE);
const synthesized = (gw: VoiceGateway) => counterValue(gw, 'resound_sfu_silence_frames_synthesized_total');

describe('silence synthesis trigger', () => {
  let gw: VoiceGateway | undefined;
  const clients: VoiceClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await gw?.close();
    gw = undefined;
  });

  async function pair(env: Record<string, string>) {
    gw = await startTestGateway({ VOICE_E2EE: 'off', ...env });
    const guild = newId();
    const channel = newId();
    const a = await rawClient(gw, guild, channel);
    const b = await rawClient(gw, guild, channel);
    clients.push(a, b);
    const got: ReceivedFrame[] = [];
    b.on('frame', (f) => got.push(f));
    await waitFor(() => b.ssrcs.size === 1, 5000, 'B to learn A');
    a.setSpeaking(1);
    return { gw, a, b, got };
  }

  it('a sender stalled mid-spurt (400 ms) and then resumed gets no silence inserted, and no timestamp drift', async () => {
    const { gw, a, got } = await pair({ SFU_SILENCE_VANISH_MS: '3000' });
    for (const f of frames.slice(0, 5)) a.sendOpus(f);
    await waitFor(() => got.length === 5, 5000, 'the first half of the spurt');
    // The jitter spike: a busy machine or a congested hop holds the sender's packets back.
    await new Promise((r) => setTimeout(r, 400));
    for (const f of frames.slice(5, 10)) a.sendOpus(f);
    await waitFor(() => got.length >= 10, 5000, 'the rest of the spurt');
    expect(got.filter(isSilence)).toEqual([]);
    expect(got.map((f) => f.payload.toString('hex'))).toEqual(frames.slice(0, 10).map((f) => f.toString('hex')));
    for (let i = 1; i < got.length; i++) {
      expect(got[i].sequence).toBe((got[i - 1].sequence + 1) & 0xffff);
      expect((got[i].timestamp - got[i - 1].timestamp) >>> 0).toBe(960);
    }
    expect(await synthesized(gw)).toBe(0);
  });

  it('a sender that says it stopped (op 5 speaking 0) without its own tail gets the five frames', async () => {
    const { a, got } = await pair({});
    for (const f of frames.slice(0, 5)) a.sendOpus(f);
    await waitFor(() => got.length === 5, 5000, 'the spurt');
    a.setSpeaking(0);
    await waitFor(() => got.length >= 10, 5000, 'the synthesized tail');
    expect(got.slice(5).every(isSilence)).toBe(true);
    expect(got).toHaveLength(10);
  });

  it('a sender whose socket is gone gets the five frames when its transport closes', async () => {
    const { a, got } = await pair({});
    for (const f of frames.slice(0, 5)) a.sendOpus(f);
    await waitFor(() => got.length === 5, 5000, 'the spurt');
    a.close();
    await waitFor(() => got.length >= 10, 5000, 'the synthesized tail');
    expect(got.slice(5).every(isSilence)).toBe(true);
  });

  it('a sender that went silent mid-spurt with its socket open gets the five frames after SFU_SILENCE_VANISH_MS', async () => {
    const { a, got } = await pair({ SFU_SILENCE_VANISH_MS: '300' });
    for (const f of frames.slice(0, 5)) a.sendOpus(f);
    await waitFor(() => got.length >= 10, 5000, 'the synthesized tail');
    expect(got.slice(5).every(isSilence)).toBe(true);
  });

  it('SFU_SILENCE_SYNTHESIS=off never synthesises, even when the sender vanishes', async () => {
    const { gw, a, b, got } = await pair({ SFU_SILENCE_SYNTHESIS: 'off' });
    for (const f of frames.slice(0, 5)) a.sendOpus(f);
    await waitFor(() => got.length === 5, 5000, 'the spurt');
    a.setSpeaking(0);
    const left = new Promise<void>((r) => b.on('json', (op) => op === 13 && r()));
    a.close();
    await left;
    expect(await synthesized(gw)).toBe(0);
    expect(got.filter(isSilence)).toEqual([]);
  });
});
