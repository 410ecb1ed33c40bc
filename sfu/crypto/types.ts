/**
 * Transport encryption between a native voice client and the SFU (Discord voice "encryption modes").
 * Contract shared by every mode and backend; the hot path allocates nothing per packet.
 */

/** Modes in the server's default order of preference (Ready.modes). The client takes the first it supports. */
export const TRANSPORT_MODES = [
  'aead_aes256_gcm_rtpsize',
  'aead_xchacha20_poly1305_rtpsize',
  'xsalsa20_poly1305_lite_rtpsize',
  'xsalsa20_poly1305_lite',
  'xsalsa20_poly1305_suffix',
  'xsalsa20_poly1305',
] as const;

export type TransportMode = (typeof TRANSPORT_MODES)[number];

/** Discord retired the XSalsa20 modes: no authenticated header, and Resound offers them only when asked to. */
export function isLegacyMode(mode: TransportMode): boolean {
  return mode.startsWith('xsalsa20_');
}

export function isTransportMode(s: unknown): s is TransportMode {
  return typeof s === 'string' && (TRANSPORT_MODES as readonly string[]).includes(s);
}

/** Nonce counter sent with lite / rtpsize packets; -1 for modes without one (suffix, plain xsalsa20). */
export const NO_NONCE = -1;

export interface TransportCipher {
  readonly mode: TransportMode;
  /**
   * Unencrypted header length for a packet of this mode: rtpsize modes keep 12 + 4·CC (+ 4 for the extension
   * preamble when X is set) in the clear; legacy modes keep exactly the fixed 12 bytes.
   * Returns -1 when the packet is too short for its own header.
   */
  headerLength(packet: Uint8Array, length: number): number;
  /**
   * Authenticates and decrypts one client→server datagram of `length` bytes. Plaintext (everything after the
   * unencrypted header, extension body included) is written to `out` at offset 0.
   * Returns the plaintext length, or -1 when the packet is malformed or fails authentication.
   * After a successful call `lastNonce` holds the packet's nonce counter (or NO_NONCE).
   */
  open(packet: Uint8Array, length: number, headerLength: number, out: Uint8Array): number;
  readonly lastNonce: number;
  /**
   * The nonce counter a datagram carries, read without decrypting (NO_NONCE for modes without one or packets too
   * short to hold one), so a replay window can reject duplicates before paying for authentication. Unauthenticated:
   * accept it into the window only after `open` succeeded (then it equals `lastNonce`).
   */
  peekNonce(packet: Uint8Array, length: number): number;
  /**
   * Builds one server→client datagram in `out`: `out[0, headerLength)` already holds the RTP header; the
   * plaintext is encrypted after it and the mode's tag / nonce trailer appended. `nonce` is the 32-bit counter the
   * caller allocated from the server's range (ignored by suffix mode, which draws random nonces).
   * `plaintextOffset` (default 0) locates the plaintext inside `plaintext`, so callers need no subarray per packet.
   * Returns the datagram length.
   */
  seal(
    out: Uint8Array,
    headerLength: number,
    plaintext: Uint8Array,
    plaintextLength: number,
    nonce: number,
    plaintextOffset?: number,
  ): number;
  /** Maximum bytes `seal` adds after the plaintext (tag + nonce trailer), for sizing buffers. */
  readonly overhead: number;
  /** Releases native contexts. */
  close(): void;
}

export type CipherFactory = (mode: TransportMode, key: Uint8Array) => TransportCipher;
