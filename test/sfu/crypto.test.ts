/** Full-packet behaviour of every transport mode on every backend: round trips, forgeries, truncation. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  TRANSPORT_MODES,
  backendsFor,
  createTransportCipher,
  loadLibsodiumWrappers,
  preferredModes,
  rankModes,
  type TransportMode,
} from '../../sfu/crypto/index.ts';
import { opusPayload, randomKey, rtpHeader, type HeaderSpec } from './crypto-helpers.ts';

beforeAll(async () => {
  await loadLibsodiumWrappers();
});

const RTPSIZE = new Set<TransportMode>([
  'aead_aes256_gcm_rtpsize',
  'aead_xchacha20_poly1305_rtpsize',
  'xsalsa20_poly1305_lite_rtpsize',
]);
const AEAD = new Set<TransportMode>(['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize']);
const COUNTER = new Set<TransportMode>([...RTPSIZE, 'xsalsa20_poly1305_lite']);

const headers: [string, HeaderSpec][] = [
  ['plain header', {}],
  ['2 CSRCs', { csrcs: 2 }],
  ['0xBEDE extension', { extWords: 2 }],
  ['CSRCs and extension', { csrcs: 15, extWords: 1 }],
];

function sealPacket(
  mode: TransportMode,
  key: Buffer,
  backend: ReturnType<typeof backendsFor>[number],
  spec: HeaderSpec,
  opus: Buffer,
  nonce: number,
) {
  const cipher = createTransportCipher(mode, key, { backend });
  const { header, extBody } = rtpHeader(spec);
  // Legacy modes encrypt everything after the fixed 12 bytes, so CSRCs and the preamble travel inside the box.
  const clear = RTPSIZE.has(mode) ? header : header.subarray(0, 12);
  const plaintext = Buffer.concat([header.subarray(clear.length), extBody, opus]);
  const out = Buffer.alloc(2048);
  clear.copy(out);
  const n = cipher.seal(out, clear.length, plaintext, plaintext.length, nonce);
  cipher.close();
  return { packet: out.subarray(0, n), clear, plaintext, extBody };
}

for (const mode of TRANSPORT_MODES) {
  describe(mode, () => {
    for (const backend of backendsFor(mode)) {
      describe(backend, () => {
        for (const [label, spec] of headers) {
          it(`round trip, ${label}`, () => {
            const key = randomKey();
            const opus = opusPayload(160);
            const { packet, clear, plaintext, extBody } = sealPacket(mode, key, backend, spec, opus, 0x80000001);
            const rx = createTransportCipher(mode, key);
            const hl = rx.headerLength(packet, packet.length);
            expect(hl).toBe(clear.length);
            expect(packet.subarray(0, hl)).toEqual(clear);
            if (extBody.length > 0) expect(packet.indexOf(extBody)).toBe(-1); // the extension body is encrypted
            const out = Buffer.alloc(2048);
            const n = rx.open(packet, packet.length, hl, out);
            expect(out.subarray(0, n)).toEqual(plaintext);
            expect(rx.lastNonce).toBe(COUNTER.has(mode) ? 0x80000001 : -1);
            expect(rx.peekNonce(packet, packet.length)).toBe(rx.lastNonce);
            expect(rx.peekNonce(packet, 8)).toBe(-1);
            expect(packet.length).toBeLessThanOrEqual(hl + plaintext.length + rx.overhead);
          });
        }

        it('a flipped bit anywhere after the clear header fails authentication', () => {
          const key = randomKey();
          const { packet } = sealPacket(mode, key, backend, { csrcs: 1, extWords: 1 }, opusPayload(50), 9);
          const rx = createTransportCipher(mode, key, { backend });
          const hl = rx.headerLength(packet, packet.length);
          const out = Buffer.alloc(2048);
          for (let i = hl; i < packet.length; i++) {
            const p = Buffer.from(packet);
            p[i] ^= 0x01;
            expect(rx.open(p, p.length, hl, out), `byte ${i}`).toBe(-1);
          }
        });

        if (AEAD.has(mode) || mode === 'xsalsa20_poly1305') {
          it('a modified RTP header fails authentication', () => {
            const key = randomKey();
            const { packet } = sealPacket(mode, key, backend, {}, opusPayload(20), 77);
            const rx = createTransportCipher(mode, key, { backend });
            const p = Buffer.from(packet);
            p[3] ^= 0x80; // sequence number
            expect(rx.open(p, p.length, 12, Buffer.alloc(2048))).toBe(-1);
          });
        }

        it('seals from an offset inside a larger buffer, byte-identical to sealing a copy', () => {
          const key = randomKey();
          const opus = opusPayload(120);
          const { header } = rtpHeader();
          const big = Buffer.concat([Buffer.alloc(37, 0xaa), opus, Buffer.alloc(9, 0xbb)]);
          const a = Buffer.alloc(512);
          const b = Buffer.alloc(512);
          header.copy(a);
          header.copy(b);
          const tx = createTransportCipher(mode, key, { backend });
          const na = tx.seal(a, 12, opus, opus.length, 0x80000005);
          const nb = tx.seal(b, 12, big, opus.length, 0x80000005, 37);
          expect(nb).toBe(na);
          if (mode === 'xsalsa20_poly1305_suffix') {
            const rx = createTransportCipher(mode, key, { backend });
            const out = Buffer.alloc(512);
            expect(out.subarray(0, rx.open(b, nb, 12, out))).toEqual(opus);
          } else {
            expect(b.subarray(0, nb)).toEqual(a.subarray(0, na));
          }
        });

        it('another key fails authentication', () => {
          const { packet } = sealPacket(mode, randomKey(), backend, {}, opusPayload(), 3);
          const rx = createTransportCipher(mode, randomKey(), { backend });
          expect(rx.open(packet, packet.length, rx.headerLength(packet, packet.length), Buffer.alloc(2048))).toBe(-1);
        });

        it('every truncation is rejected without throwing', () => {
          const key = randomKey();
          const { packet } = sealPacket(mode, key, backend, { csrcs: 2, extWords: 1 }, opusPayload(3), 5);
          const rx = createTransportCipher(mode, key, { backend });
          const out = Buffer.alloc(2048);
          for (let len = 0; len < packet.length; len++) {
            const p = Buffer.from(packet.subarray(0, len));
            const hl = rx.headerLength(p, len);
            if (hl < 0) continue;
            expect(rx.open(p, len, hl, out), `length ${len}`).toBe(-1);
          }
          expect(rx.headerLength(packet, 11)).toBe(-1);
          // A length beyond the buffer is malformed, not an out-of-bounds read.
          expect(rx.open(packet, packet.length + 8, rx.headerLength(packet, packet.length), out)).toBe(-1);
        });

        it('an output buffer too small for the plaintext is rejected', () => {
          const key = randomKey();
          const { packet } = sealPacket(mode, key, backend, {}, opusPayload(100), 5);
          const rx = createTransportCipher(mode, key, { backend });
          expect(rx.open(packet, packet.length, 12, Buffer.alloc(10))).toBe(-1);
        });
      });
    }
  });
}

describe('mode preference', () => {
  it('offers AES-GCM first when the addon is loaded, then XChaCha, then the legacy modes', () => {
    expect(backendsFor('aead_aes256_gcm_rtpsize')[0]).toBe('aead-gcm-addon');
    expect(preferredModes()).toEqual([...TRANSPORT_MODES]);
  });

  it('offers XChaCha first when AES-GCM would run on node:crypto', () => {
    const order = rankModes((m) => (m === 'aead_aes256_gcm_rtpsize' ? 'node-crypto' : 'sodium-native'));
    expect(order.slice(0, 2)).toEqual(['aead_xchacha20_poly1305_rtpsize', 'aead_aes256_gcm_rtpsize']);
    expect(order).toHaveLength(TRANSPORT_MODES.length);
  });

  it('leaves out modes nothing can serve', () => {
    const order = rankModes((m) => (m === 'aead_aes256_gcm_rtpsize' ? 'node-crypto' : undefined));
    expect(order).toEqual(['aead_aes256_gcm_rtpsize']);
  });

  it('rejects keys that are not 32 bytes and unavailable backends', () => {
    expect(() => createTransportCipher('aead_aes256_gcm_rtpsize', Buffer.alloc(16))).toThrow(/32 bytes/);
    expect(() => createTransportCipher('xsalsa20_poly1305', randomKey(), { backend: 'aead-gcm-addon' })).toThrow(
      /no usable/,
    );
  });
});
