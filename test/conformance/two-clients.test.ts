import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../signaling/index.ts';
import { bestCorrelation, collectFrames, decodeFrames, fixtureOpusFrames, joinClient, newId, play, startTestGateway, type TestClient } from './harness.ts';

describe('two real @discordjs/voice clients in one channel', () => {
  let gw: VoiceGateway;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await gw?.close();
  });

  it('B receives every Opus frame A sent, byte-identical, decoding to the fixture', async () => {
    const guild = newId();
    const channel = newId();
    const a = await joinClient(gw, guild, channel);
    const b = await joinClient(gw, guild, channel);
    clients.push(a, b);
    const { frames, pcm } = fixtureOpusFrames();
    const received = collectFrames(b, a.userId, frames.length);
    await play(a, frames);
    const got = await received;
    expect(got.length).toBe(frames.length);
    for (let i = 0; i < frames.length; i++) expect(Buffer.compare(got[i], frames[i])).toBe(0);
    const decoded = decodeFrames(got);
    expect(bestCorrelation(pcm, decoded)).toBeGreaterThan(0.9);
  });
});
