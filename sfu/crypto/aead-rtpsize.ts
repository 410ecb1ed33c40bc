/**
 * aead_aes256_gcm_rtpsize and aead_xchacha20_poly1305_rtpsize (voice-protocol.md §3):
 *   [unencrypted header: 12 + 4·CC (+4 extension preamble)] [ciphertext (extension body ‖ Opus)] [16-byte tag] [u32 BE counter]
 * AAD is the unencrypted header; the nonce is the counter big-endian in its first 4 bytes, the rest zero.
 */
import type { AeadPrimitive } from './aead-primitive.ts';
import { COUNTER_LENGTH, RTP_FIXED_HEADER, TAG_LENGTH, readU32BE, rtpsizeHeaderLength, writeU32BE } from './layout.ts';
import { NO_NONCE, type TransportCipher, type TransportMode } from './types.ts';

export type AeadRtpsizeMode = 'aead_aes256_gcm_rtpsize' | 'aead_xchacha20_poly1305_rtpsize';

export class AeadRtpsizeCipher implements TransportCipher {
  readonly overhead = TAG_LENGTH + COUNTER_LENGTH;
  lastNonce = NO_NONCE;

  constructor(
    readonly mode: AeadRtpsizeMode & TransportMode,
    private readonly aead: AeadPrimitive,
  ) {}

  /** Library doing the work, for logs and metrics labels. */
  get backend(): string {
    return this.aead.backend;
  }

  headerLength(packet: Uint8Array, length: number): number {
    return rtpsizeHeaderLength(packet, length);
  }

  peekNonce(packet: Uint8Array, length: number): number {
    return length >= RTP_FIXED_HEADER + TAG_LENGTH + COUNTER_LENGTH && length <= packet.length
      ? readU32BE(packet, length - COUNTER_LENGTH)
      : NO_NONCE;
  }

  open(packet: Uint8Array, length: number, headerLength: number, out: Uint8Array): number {
    const ctLength = length - headerLength - TAG_LENGTH - COUNTER_LENGTH;
    if (headerLength < RTP_FIXED_HEADER || ctLength < 0 || length > packet.length || out.length < ctLength) return -1;
    const counter = readU32BE(packet, length - COUNTER_LENGTH);
    const n = this.aead.open(packet, headerLength, ctLength, counter, out);
    if (n < 0) return -1;
    this.lastNonce = counter;
    return n;
  }

  seal(
    out: Uint8Array,
    headerLength: number,
    plaintext: Uint8Array,
    plaintextLength: number,
    nonce: number,
    plaintextOffset = 0,
  ): number {
    const n = this.aead.seal(out, headerLength, plaintext, plaintextOffset, plaintextLength, nonce >>> 0);
    writeU32BE(out, headerLength + n, nonce >>> 0);
    return headerLength + n + COUNTER_LENGTH;
  }

  close(): void {
    this.aead.close();
  }
}
