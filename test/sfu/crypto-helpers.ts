/** Test helpers: RTP packets built byte by byte, independently of the code under test. */
import crypto from 'node:crypto';

export interface HeaderSpec {
  csrcs?: number;
  /** Extension body length in 32-bit words; the 0xBEDE preamble is added when set. */
  extWords?: number;
  seq?: number;
  timestamp?: number;
  ssrc?: number;
}

/** The unencrypted part (fixed header, CSRCs, extension preamble) and the extension body that travels encrypted. */
export function rtpHeader(spec: HeaderSpec = {}): { header: Buffer; extBody: Buffer } {
  const cc = spec.csrcs ?? 0;
  const x = spec.extWords !== undefined;
  const header = Buffer.alloc(12 + 4 * cc + (x ? 4 : 0));
  header[0] = 0x80 | (x ? 0x10 : 0) | cc;
  header[1] = 0x78;
  header.writeUInt16BE(spec.seq ?? 4321, 2);
  header.writeUInt32BE(spec.timestamp ?? 0x12345678, 4);
  header.writeUInt32BE(spec.ssrc ?? 0xdeadbeef, 8);
  for (let i = 0; i < cc; i++) header.writeUInt32BE(0x1000 + i, 12 + 4 * i);
  let extBody = Buffer.alloc(0);
  if (x) {
    header.writeUInt16BE(0xbede, 12 + 4 * cc);
    header.writeUInt16BE(spec.extWords ?? 0, 14 + 4 * cc);
    extBody = Buffer.alloc(4 * (spec.extWords ?? 0), 0x5a);
  }
  return { header, extBody };
}

export function randomKey(): Buffer {
  return crypto.randomBytes(32);
}

export function opusPayload(length = 160): Buffer {
  return crypto.randomBytes(length);
}

export function counterBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** 12-byte (AES-GCM) or 24-byte (XChaCha, XSalsa lite) nonce: the counter big-endian, then zeros. */
export function counterNonce(n: number, length: 12 | 24): Buffer {
  const b = Buffer.alloc(length);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}
