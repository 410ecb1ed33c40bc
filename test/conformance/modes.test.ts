import { afterEach, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../signaling/index.ts';
import type { TransportMode } from '../../sfu/index.ts';
import {
  type VoiceClient,
  collectFrames,
  hex,
  fixtureOpusFrames,
  joinClient,
  newId,
  play,
  rawClient,
  startTestGateway,
  waitFor,
  type TestClient,
} from '../../testkit/index.ts';

const { frames } = fixtureOpusFrames();
const part = frames.slice(0, 10);

describe('each transport encryption mode, forced', () => {
  let gw: VoiceGateway | undefined;
  const clients: TestClient[] = [];
  const raws: VoiceClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    for (const r of raws.splice(0)) r.close();
    await gw?.close();
  });

  for (const mode of ['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize'] as TransportMode[]) {
    it(`${mode}: @discordjs/voice clients exchange identical frames`, async () => {
      gw = await startTestGateway({ SFU_MODES: mode });
      const guild = newId();
      const channel = newId();
      const a = await joinClient(gw, guild, channel);
      const b = await joinClient(gw, guild, channel);
      clients.push(a, b);
      const session = gw.server.sessionOf(guild, a.userId)!;
      expect(session.state.kind === 'connected' && session.state.mode).toBe(mode);
      const got = collectFrames(b, a.userId, part.length);
      await play(a, part);
      expect(hex(await got)).toEqual(hex(part));
    });
  }

  // @discordjs/voice dropped the XSalsa20 modes in 0.18; old clients still use them, so the lean client speaks them.
  for (const mode of [
    'xsalsa20_poly1305_lite_rtpsize',
    'xsalsa20_poly1305_lite',
    'xsalsa20_poly1305_suffix',
    'xsalsa20_poly1305',
  ] as TransportMode[]) {
    it(`${mode}: a legacy sender is heard by an AEAD receiver and vice versa`, async () => {
      gw = await startTestGateway({ SFU_LEGACY_MODES: 'true' });
      const guild = newId();
      const channel = newId();
      const legacy = await rawClient(gw, guild, channel, { mode });
      const modern = await rawClient(gw, guild, channel, { mode: 'aead_xchacha20_poly1305_rtpsize' });
      raws.push(legacy, modern);
      expect(legacy.mode).toBe(mode);
      await waitFor(() => legacy.ssrcs.size === 1 && modern.ssrcs.size === 1, 3000, 'op 5 SSRC announcements');
      const heardByModern: Buffer[] = [];
      const heardByLegacy: Buffer[] = [];
      modern.on('frame', (f) => heardByModern.push(f.payload));
      legacy.on('frame', (f) => heardByLegacy.push(f.payload));
      legacy.setSpeaking(1);
      modern.setSpeaking(1);
      for (const f of part) {
        legacy.sendOpus(f);
        modern.sendOpus(f);
        await new Promise((r) => setTimeout(r, 2));
      }
      await waitFor(
        () => heardByModern.length >= part.length && heardByLegacy.length >= part.length,
        3000,
        'frames both ways',
      );
      expect(hex(heardByModern)).toEqual(hex(part));
      expect(hex(heardByLegacy)).toEqual(hex(part));
    });
  }
});
