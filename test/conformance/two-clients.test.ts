import { describe, expect, it } from 'vitest';
import { useGateway } from './harness.ts';
import { bestCorrelation, collectFrames, decodeFrames, fixtureOpusFrames, newId, play } from '../../testkit/index.ts';

describe('two real @discordjs/voice clients in one channel', () => {
  const t = useGateway();

  it('B receives every Opus frame A sent, byte-identical, decoding to the fixture', async () => {
    const guild = newId();
    const channel = newId();
    const a = await t.join(guild, channel);
    const b = await t.join(guild, channel);
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
