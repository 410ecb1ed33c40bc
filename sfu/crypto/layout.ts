/**
 * Byte-layout helpers shared by every transport mode: where the unencrypted RTP header ends, and the 4-byte
 * big-endian nonce counters that lite / rtpsize packets carry as a trailer.
 */

/** Fixed RTP header: V/P/X/CC, M/PT, seq, timestamp, SSRC. */
export const RTP_FIXED_HEADER = 12;
/** Poly1305 / GCM tag length; every mode here uses 16-byte tags. */
export const TAG_LENGTH = 16;
/** The nonce counter trailer of lite and rtpsize packets. */
export const COUNTER_LENGTH = 4;

/**
 * "rtpsize" header length as in SRTP: the fixed 12 bytes, 4 per CSRC, and when X is set only the 4-byte extension
 * preamble (profile + length); the extension body travels encrypted. -1 when the packet is shorter than that.
 */
export function rtpsizeHeaderLength(packet: Uint8Array, length: number): number {
  if (length < RTP_FIXED_HEADER) return -1;
  const b0 = packet[0];
  const n = RTP_FIXED_HEADER + 4 * (b0 & 0x0f) + ((b0 & 0x10) !== 0 ? 4 : 0);
  return n <= length ? n : -1;
}

/** Legacy (non-rtpsize) modes keep exactly the fixed header in the clear. */
export function fixedHeaderLength(_packet: Uint8Array, length: number): number {
  return length >= RTP_FIXED_HEADER ? RTP_FIXED_HEADER : -1;
}

export function readU32BE(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

export function writeU32BE(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}
