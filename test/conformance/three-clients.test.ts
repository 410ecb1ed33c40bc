import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../signaling/index.ts';
import { collectFrames, fixtureOpusFrames, joinClient, newId, play, startTestGateway, type TestClient } from './harness.ts';

describe('three real clients: everyone hears everyone', () => {
  let gw: VoiceGateway;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await gw?.close();
  });

  it('each speaker reaches both other clients byte-identically', async () => {
    const guild = newId();
    const channel = newId();
    for (let i = 0; i < 3; i++) clients.push(await joinClient(gw, guild, channel));
    const { frames } = fixtureOpusFrames();
    const part = frames.slice(0, 12);
    for (const speaker of clients) {
      const listeners = clients.filter((c) => c !== speaker);
      const pending = listeners.map((l) => collectFrames(l, speaker.userId, part.length));
      await play(speaker, part);
      for (const got of await Promise.all(pending)) {
        expect(got.map((b) => b.toString('hex'))).toEqual(part.map((b) => b.toString('hex')));
      }
    }
    expect(gw.server.channels.get(`${guild}:${channel}`)?.sessions.size).toBe(3);
  });
});
