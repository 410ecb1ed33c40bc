/**
 * Each mode's bytes checked against an implementation that shares no code with ours: node:crypto and @noble/ciphers
 * for AES-256-GCM, @noble/ciphers and libsodium-wrappers for XChaCha20-Poly1305, tweetnacl for XSalsa20 secretbox.
 */
import crypto from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  backendsFor,
  createTransportCipher,
  loadLibsodiumWrappers,
  type CryptoBackend,
} from '../../sfu/crypto/index.ts';
import { counterBytes, counterNonce, opusPayload, randomKey, rtpHeader } from './crypto-helpers.ts';

beforeAll(async () => {
  await loadLibsodiumWrappers();
});

function nodeGcmSeal(key: Buffer, counter: number, aad: Buffer, pt: Buffer): Buffer {
  const c = crypto.createCipheriv('aes-256-gcm', key, counterNonce(counter, 12));
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

function seal(
  mode: Parameters<typeof createTransportCipher>[0],
  backend: CryptoBackend,
  key: Buffer,
  header: Buffer,
  pt: Buffer,
  nonce: number,
): Buffer {
  const cipher = createTransportCipher(mode, key, { backend });
  const out = Buffer.alloc(header.length + pt.length + cipher.overhead);
  header.copy(out);
  const n = cipher.seal(out, header.length, pt, pt.length, nonce);
  cipher.close();
  return out.subarray(0, n);
}

function open(
  mode: Parameters<typeof createTransportCipher>[0],
  backend: CryptoBackend,
  key: Buffer,
  packet: Buffer,
): Buffer | null {
  const cipher = createTransportCipher(mode, key, { backend });
  const out = Buffer.alloc(packet.length);
  const hl = cipher.headerLength(packet, packet.length);
  const n = cipher.open(packet, packet.length, hl, out);
  cipher.close();
  return n < 0 ? null : out.subarray(0, n);
}

describe('aead_aes256_gcm_rtpsize', () => {
  const mode = 'aead_aes256_gcm_rtpsize';
  it('the addon is built and preferred', () => {
    expect(backendsFor(mode)[0]).toBe('aead-gcm-addon');
  });

  for (const backend of ['aead-gcm-addon', 'node-crypto'] as const) {
    it(`${backend} seals exactly what node:crypto and @noble/ciphers produce`, () => {
      const key = randomKey();
      const { header, extBody } = rtpHeader({ csrcs: 2, extWords: 1 });
      const pt = Buffer.concat([extBody, opusPayload(160)]);
      const counter = 0x80000123;
      const packet = seal(mode, backend, key, header, pt, counter);
      const expected = nodeGcmSeal(key, counter, header, pt);
      expect(packet.subarray(0, header.length)).toEqual(header);
      expect(packet.subarray(header.length, packet.length - 4)).toEqual(expected);
      expect(packet.subarray(packet.length - 4)).toEqual(counterBytes(counter));
      const noble = gcm(key, counterNonce(counter, 12), header).encrypt(pt);
      expect(packet.subarray(header.length, packet.length - 4)).toEqual(Buffer.from(noble));
    });

    it(`${backend} opens packets sealed by node:crypto`, () => {
      const key = randomKey();
      const { header } = rtpHeader();
      const pt = opusPayload(97);
      const packet = Buffer.concat([header, nodeGcmSeal(key, 7, header, pt), counterBytes(7)]);
      expect(open(mode, backend, key, packet)).toEqual(pt);
    });
  }
});

describe('aead_xchacha20_poly1305_rtpsize', () => {
  const mode = 'aead_xchacha20_poly1305_rtpsize';
  for (const backend of ['sodium-native', 'libsodium-wrappers'] as const) {
    it(`${backend} seals exactly what @noble/ciphers produces`, () => {
      const key = randomKey();
      const { header, extBody } = rtpHeader({ csrcs: 1, extWords: 2 });
      const pt = Buffer.concat([extBody, opusPayload(160)]);
      const counter = 0xfffffffe;
      const packet = seal(mode, backend, key, header, pt, counter);
      const noble = xchacha20poly1305(key, counterNonce(counter, 24), header).encrypt(pt);
      expect(packet.subarray(0, header.length)).toEqual(header);
      expect(packet.subarray(header.length, packet.length - 4)).toEqual(Buffer.from(noble));
      expect(packet.subarray(packet.length - 4)).toEqual(counterBytes(counter));
    });

    it(`${backend} opens packets sealed by @noble/ciphers`, () => {
      const key = randomKey();
      const { header } = rtpHeader();
      const pt = opusPayload(3);
      const ct = xchacha20poly1305(key, counterNonce(1, 24), header).encrypt(pt);
      const packet = Buffer.concat([header, ct, counterBytes(1)]);
      expect(open(mode, backend, key, packet)).toEqual(pt);
    });
  }
});

describe('xsalsa20 modes against tweetnacl', () => {
  const backends = ['sodium-native', 'libsodium-wrappers'] as const;
  for (const backend of backends) {
    it(`${backend} xsalsa20_poly1305: nonce = RTP header + 12 zeros`, () => {
      const key = randomKey();
      const { header } = rtpHeader({ seq: 65535 });
      const pt = opusPayload();
      const packet = seal('xsalsa20_poly1305', backend, key, header, pt, 0);
      const nonce = Buffer.concat([header, Buffer.alloc(12)]);
      expect(packet.subarray(12)).toEqual(Buffer.from(nacl.secretbox(pt, nonce, key)));
      expect(open('xsalsa20_poly1305', backend, key, Buffer.concat([header, nacl.secretbox(pt, nonce, key)]))).toEqual(
        pt,
      );
    });

    it(`${backend} xsalsa20_poly1305_lite: counter nonce appended`, () => {
      const key = randomKey();
      const { header } = rtpHeader();
      const pt = opusPayload();
      const packet = seal('xsalsa20_poly1305_lite', backend, key, header, pt, 0x80000009);
      const box = nacl.secretbox(pt, counterNonce(0x80000009, 24), key);
      expect(packet).toEqual(Buffer.concat([header, box, counterBytes(0x80000009)]));
      expect(
        open(
          'xsalsa20_poly1305_lite',
          backend,
          key,
          Buffer.concat([header, nacl.secretbox(pt, counterNonce(5, 24), key), counterBytes(5)]),
        ),
      ).toEqual(pt);
    });

    it(`${backend} xsalsa20_poly1305_lite_rtpsize: CSRCs and extension preamble stay clear`, () => {
      const key = randomKey();
      const { header, extBody } = rtpHeader({ csrcs: 3, extWords: 1 });
      const pt = Buffer.concat([extBody, opusPayload(40)]);
      const packet = seal('xsalsa20_poly1305_lite_rtpsize', backend, key, header, pt, 42);
      const box = nacl.secretbox(pt, counterNonce(42, 24), key);
      expect(packet).toEqual(Buffer.concat([header, box, counterBytes(42)]));
      expect(open('xsalsa20_poly1305_lite_rtpsize', backend, key, packet)).toEqual(pt);
    });

    it(`${backend} xsalsa20_poly1305_suffix: 24 random nonce bytes appended`, () => {
      const key = randomKey();
      const { header } = rtpHeader();
      const pt = opusPayload();
      const packet = seal('xsalsa20_poly1305_suffix', backend, key, header, pt, 0);
      const nonce = packet.subarray(packet.length - 24);
      expect(nacl.secretbox.open(packet.subarray(12, packet.length - 24), nonce, key)).toEqual(new Uint8Array(pt));
      const other = seal('xsalsa20_poly1305_suffix', backend, key, header, pt, 0);
      expect(other.subarray(other.length - 24)).not.toEqual(nonce);
      const theirs = crypto.randomBytes(24);
      expect(
        open(
          'xsalsa20_poly1305_suffix',
          backend,
          key,
          Buffer.concat([header, nacl.secretbox(pt, theirs, key), theirs]),
        ),
      ).toEqual(pt);
    });
  }
});
