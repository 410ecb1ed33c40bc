import { describe, expect, it } from 'vitest';
import { useGateway } from './harness.ts';
import { collectFrames, fixtureOpusFrames, hex, newId, play } from '../../testkit/index.ts';

describe('three real clients: everyone hears everyone', () => {
  const t = useGateway();

  it('each speaker reaches both other clients byte-identically', async () => {
    const guild = newId();
    const channel = newId();
    for (let i = 0; i < 3; i++) await t.join(guild, channel);
    const clients = t.clients;
    const { frames } = fixtureOpusFrames();
    const part = frames.slice(0, 12);
    for (const speaker of clients) {
      const listeners = clients.filter((c) => c !== speaker);
      const pending = listeners.map((l) => collectFrames(l, speaker.userId, part.length));
      await play(speaker, part);
      for (const got of await Promise.all(pending)) {
        expect(hex(got)).toEqual(hex(part));
      }
    }
    expect(t.gw.server.channels.get(`${guild}:${channel}`)?.sessions.size).toBe(3);
  });
});
