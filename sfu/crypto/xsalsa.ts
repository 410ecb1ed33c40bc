/**
 * The legacy XSalsa20-Poly1305 modes (voice-protocol.md §3), kept for old clients. The body after the unencrypted
 * header is a NaCl secretbox (16-byte MAC ‖ ciphertext); no AAD, so the header itself is not authenticated.
 *   xsalsa20_poly1305              nonce = the 12-byte RTP header + 12 zero bytes; nothing appended
 *   xsalsa20_poly1305_suffix       nonce = 24 random bytes appended to the packet
 *   xsalsa20_poly1305_lite         nonce = u32 BE counter + 20 zero bytes; the 4 counter bytes appended
 *   xsalsa20_poly1305_lite_rtpsize as _lite, but the rtpsize header (CSRCs, extension preamble) stays in the clear
 */
import crypto from 'node:crypto';
import {
  COUNTER_LENGTH,
  RTP_FIXED_HEADER,
  TAG_LENGTH,
  fixedHeaderLength,
  readU32BE,
  rtpsizeHeaderLength,
  writeU32BE,
} from './layout.ts';
import type { SecretboxPrimitive } from './sodium.ts';
import { NO_NONCE, type TransportCipher } from './types.ts';

export type XSalsaMode =
  'xsalsa20_poly1305_lite_rtpsize' | 'xsalsa20_poly1305_lite' | 'xsalsa20_poly1305_suffix' | 'xsalsa20_poly1305';

const NONCE_LENGTH = 24;
const HEADER_NONCE_LENGTH = 12;
/** Random suffix nonces come from a pool refilled in one call, not one system call per packet. */
const RANDOM_POOL_NONCES = 256;

export class XSalsaCipher implements TransportCipher {
  readonly overhead: number;
  lastNonce = NO_NONCE;
  private readonly nonce = new Uint8Array(NONCE_LENGTH);
  private readonly trailer: number;
  private readonly rtpsize: boolean;
  private readonly counter: boolean;
  private pool: Uint8Array | null = null;
  private poolPos = 0;

  constructor(
    readonly mode: XSalsaMode,
    private readonly box: SecretboxPrimitive,
  ) {
    this.rtpsize = mode === 'xsalsa20_poly1305_lite_rtpsize';
    this.counter = mode === 'xsalsa20_poly1305_lite' || this.rtpsize;
    this.trailer = this.counter ? COUNTER_LENGTH : mode === 'xsalsa20_poly1305_suffix' ? NONCE_LENGTH : 0;
    this.overhead = TAG_LENGTH + this.trailer;
  }

  get backend(): string {
    return this.box.backend;
  }

  headerLength(packet: Uint8Array, length: number): number {
    return this.rtpsize ? rtpsizeHeaderLength(packet, length) : fixedHeaderLength(packet, length);
  }

  peekNonce(packet: Uint8Array, length: number): number {
    return this.counter && length >= RTP_FIXED_HEADER + TAG_LENGTH + COUNTER_LENGTH && length <= packet.length
      ? readU32BE(packet, length - COUNTER_LENGTH)
      : NO_NONCE;
  }

  open(packet: Uint8Array, length: number, headerLength: number, out: Uint8Array): number {
    const boxLength = length - headerLength - this.trailer;
    if (headerLength < RTP_FIXED_HEADER || boxLength < TAG_LENGTH || length > packet.length) return -1;
    if (out.length < boxLength - TAG_LENGTH) return -1;
    const nonce = this.nonce;
    let counter = NO_NONCE;
    if (this.counter) {
      counter = readU32BE(packet, length - COUNTER_LENGTH);
      nonce.fill(0);
      writeU32BE(nonce, 0, counter);
    } else if (this.trailer === NONCE_LENGTH) {
      nonce.set(packet.subarray(length - NONCE_LENGTH, length));
    } else {
      for (let i = 0; i < HEADER_NONCE_LENGTH; i++) nonce[i] = packet[i];
      nonce.fill(0, HEADER_NONCE_LENGTH);
    }
    if (!this.box.open(packet, headerLength, boxLength, nonce, out)) return -1;
    this.lastNonce = counter;
    return boxLength - TAG_LENGTH;
  }

  seal(
    out: Uint8Array,
    headerLength: number,
    plaintext: Uint8Array,
    plaintextLength: number,
    nonce: number,
    plaintextOffset = 0,
  ): number {
    const n = this.nonce;
    if (this.counter) {
      n.fill(0);
      writeU32BE(n, 0, nonce >>> 0);
    } else if (this.trailer === NONCE_LENGTH) {
      this.nextRandomNonce(n);
    } else {
      for (let i = 0; i < HEADER_NONCE_LENGTH; i++) n[i] = out[i];
      n.fill(0, HEADER_NONCE_LENGTH);
    }
    this.box.seal(out, headerLength, plaintext, plaintextOffset, plaintextLength, n);
    const end = headerLength + TAG_LENGTH + plaintextLength;
    if (this.counter) writeU32BE(out, end, nonce >>> 0);
    else if (this.trailer === NONCE_LENGTH) out.set(n, end);
    return end + this.trailer;
  }

  close(): void {
    this.box.close();
  }

  private nextRandomNonce(into: Uint8Array): void {
    if (this.pool === null || this.poolPos === this.pool.length) {
      this.pool ??= new Uint8Array(NONCE_LENGTH * RANDOM_POOL_NONCES);
      crypto.randomFillSync(this.pool);
      this.poolPos = 0;
    }
    for (let i = 0; i < NONCE_LENGTH; i++) into[i] = this.pool[this.poolPos + i];
    this.poolPos += NONCE_LENGTH;
  }
}
