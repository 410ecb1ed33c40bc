/** The conformance suites' vitest glue over the testkit's real-client harness. */
import { afterAll, beforeAll, expect } from 'vitest';
import {
  bestCorrelation,
  collectFrames,
  decodeFrames,
  fixtureOpusFrames,
  joinClient,
  play,
  startTestGateway,
  type TestClient,
} from '../../testkit/index.ts';
import type { VoiceGateway } from '../../signaling/index.ts';

/** A gateway for one describe block: started before its tests, closed (with every client joined through it) after. */
export function useGateway(env: Record<string, string> = {}) {
  const ctx = {
    gw: undefined as unknown as VoiceGateway,
    clients: [] as TestClient[],
    async join(guildId: string, channelId: string, opts?: Parameters<typeof joinClient>[3]): Promise<TestClient> {
      const c = await joinClient(ctx.gw, guildId, channelId, opts);
      ctx.clients.push(c);
      return c;
    },
  };
  beforeAll(async () => {
    ctx.gw = await startTestGateway(env);
  });
  afterAll(async () => {
    for (const c of ctx.clients) c.destroy();
    await ctx.gw?.close();
  });
  return ctx;
}

/** A plays the voice fixture; B must receive every frame byte-identical (after any DAVE layer) and decode it. */
export async function expectFixtureHeard(a: TestClient, b: TestClient): Promise<void> {
  const { frames, pcm } = fixtureOpusFrames();
  const received = collectFrames(b, a.userId, frames.length);
  await play(a, frames);
  const got = await received;
  expect(got.length).toBe(frames.length);
  for (let i = 0; i < frames.length; i++) expect(Buffer.compare(got[i], frames[i])).toBe(0);
  expect(bestCorrelation(pcm, decodeFrames(got))).toBeGreaterThan(0.9);
}
