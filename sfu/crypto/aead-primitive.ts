/**
 * The AEAD operation both rtpsize modes need, independent of cipher and library. The layouts of
 * aead_aes256_gcm_rtpsize and aead_xchacha20_poly1305_rtpsize are identical (AAD = unencrypted header,
 * ciphertext ‖ 16-byte tag, nonce = 32-bit BE counter followed by zeros); only the primitive differs.
 */
export interface AeadPrimitive {
  /** Library that does the work, e.g. "aead-gcm-addon", "node-crypto", "sodium-native". */
  readonly backend: string;
  /**
   * AAD = out[0, aadLength). Encrypts src[srcOffset, srcOffset + srcLength) into out at aadLength and writes the tag
   * right after the ciphertext. Returns srcLength + 16.
   */
  seal(
    out: Uint8Array,
    aadLength: number,
    src: Uint8Array,
    srcOffset: number,
    srcLength: number,
    counter: number,
  ): number;
  /**
   * AAD = packet[0, aadLength); ciphertext = the next ctLength bytes, then the tag. Writes the plaintext to out at 0.
   * Returns ctLength, or -1 when authentication fails (out then holds no usable plaintext).
   */
  open(packet: Uint8Array, aadLength: number, ctLength: number, counter: number, out: Uint8Array): number;
  close(): void;
}

export type AeadPrimitiveFactory = (key: Uint8Array) => AeadPrimitive;
