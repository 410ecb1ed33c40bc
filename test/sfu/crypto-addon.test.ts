/** The native AES-256-GCM addon's own boundary checks: lengths from JavaScript never reach OpenSSL unchecked. */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadAeadGcmAddon } from '../../sfu/crypto/aes-gcm.ts';

const addon = loadAeadGcmAddon();

describe('aead-gcm addon', () => {
  it('is built by the install script', () => {
    expect(addon).not.toBeNull();
  });

  it('matches node:crypto for every payload length 0..300 and several AAD lengths', () => {
    const key = crypto.randomBytes(32);
    const ctx = addon!.create(key);
    for (const aad of [0, 12, 16, 76]) {
      for (let len = 0; len <= 300; len += 7) {
        const src = crypto.randomBytes(len + 5);
        const out = Buffer.alloc(aad + len + 16);
        crypto.randomFillSync(out, 0, aad);
        const counter = crypto.randomInt(0, 2 ** 32);
        expect(addon!.seal(ctx, out, aad, src, 5, len, counter)).toBe(len + 16);
        const iv = Buffer.alloc(12);
        iv.writeUInt32BE(counter, 0);
        const c = crypto.createCipheriv('aes-256-gcm', key, iv);
        c.setAAD(out.subarray(0, aad));
        expect(out.subarray(aad)).toEqual(Buffer.concat([c.update(src.subarray(5)), c.final(), c.getAuthTag()]));
        const plain = Buffer.alloc(len);
        expect(addon!.open(ctx, out, aad, len, counter, plain)).toBe(len);
        expect(plain).toEqual(src.subarray(5));
      }
    }
    addon!.destroy(ctx);
  });

  it('rejects ranges outside the buffers, including lengths whose sum would wrap at 2^32', () => {
    const ctx = addon!.create(crypto.randomBytes(32));
    const buf = Buffer.alloc(64);
    const out = Buffer.alloc(64);
    expect(addon!.open(ctx, buf, 0xfffffff0, 0x20, 1, out)).toBe(-1);
    expect(addon!.open(ctx, buf, 12, 0xffffffff, 1, out)).toBe(-1);
    expect(addon!.open(ctx, buf, 12, 40, 1, out)).toBe(-1); // 12 + 40 + 16 > 64
    expect(addon!.open(ctx, buf, -1, 4, 1, out)).toBe(-1);
    expect(() => addon!.seal(ctx, out, 0xfffffff0, buf, 0, 0x20, 1)).toThrow();
    expect(() => addon!.seal(ctx, out, 12, buf, 60, 10, 1)).toThrow(/out of bounds/);
    expect(() => addon!.seal(ctx, out, 12, buf, 0, 40, 1)).toThrow(/too small/);
    expect(() => addon!.create(Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('a closed context throws instead of touching freed memory', () => {
    const ctx = addon!.create(crypto.randomBytes(32));
    addon!.destroy(ctx);
    addon!.destroy(ctx);
    expect(() => addon!.seal(ctx, Buffer.alloc(64), 12, Buffer.alloc(4), 0, 4, 1)).toThrow(/closed/);
  });
});
