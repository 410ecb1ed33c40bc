/** Opus frame classification the SFU needs for DAVE gating, without any media keys. */

/** DAVE protocol frames end with the magic marker 0xFA 0xFA after the supplemental data. */
export function isDaveFrame(payload: Uint8Array, length = payload.length): boolean {
  return length >= 2 && payload[length - 1] === 0xfa && payload[length - 2] === 0xfa;
}

/** The Opus silence frame F8 FF FE, which DAVE never encrypts. */
export function isSilenceFrame(payload: Uint8Array, length = payload.length): boolean {
  return length === 3 && payload[0] === 0xf8 && payload[1] === 0xff && payload[2] === 0xfe;
}
