import { describe, expect, it } from 'vitest';
import { VoiceTokenSigner } from '../../signaling/index.ts';

const claims = { guildId: '1', channelId: '2', userId: '3', sessionId: 's', expiresAt: 2_000 };

describe('voice join tokens', () => {
  const signer = new VoiceTokenSigner('a-server-secret-of-some-length');
  it('verifies what it signed and returns the claims', () => {
    expect(signer.verify(signer.sign(claims), 1_000)).toEqual({ ok: true, claims });
  });
  it('refuses expired, forged, foreign and malformed tokens', () => {
    const t = signer.sign(claims);
    expect(signer.verify(t, 2_000)).toEqual({ ok: false, reason: 'expired' });
    const [body, mac] = t.split('.');
    const other = Buffer.from(JSON.stringify({ g: '1', c: '2', u: '4', s: 's', e: 2000 })).toString('base64url');
    expect(signer.verify(`${other}.${mac}`, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(new VoiceTokenSigner('another-secret-entirely!!').verify(t, 1_000)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(signer.verify(body, 1_000)).toEqual({ ok: false, reason: 'malformed' });
    expect(signer.verify(`${body}.${mac}.x`, 1_000)).toEqual({ ok: false, reason: 'malformed' });
  });
});
