import { MediaError } from '../errors.ts';

/** Bounds-checked big/little-endian reads: every container parser goes through these, so a short file is a typed error. */
export function need(b: Uint8Array, end: number, what: string): void {
  if (end > b.length)
    throw new MediaError('truncated_image', `image is truncated (${what} runs past the end of the file)`);
}

export const u8 = (b: Uint8Array, o: number): number => (need(b, o + 1, 'u8'), b[o]);
export const u16be = (b: Uint8Array, o: number): number => (need(b, o + 2, 'u16'), (b[o] << 8) | b[o + 1]);
export const u16le = (b: Uint8Array, o: number): number => (need(b, o + 2, 'u16'), b[o] | (b[o + 1] << 8));
export const u24le = (b: Uint8Array, o: number): number => (
  need(b, o + 3, 'u24'),
  b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)
);
export const u32be = (b: Uint8Array, o: number): number => (
  need(b, o + 4, 'u32'),
  ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3])
);
export const u32le = (b: Uint8Array, o: number): number => (
  need(b, o + 4, 'u32'),
  ((b[o + 3] << 24) >>> 0) + ((b[o + 2] << 16) | (b[o + 1] << 8) | b[o])
);

export function fourcc(b: Uint8Array, o: number): string {
  need(b, o + 4, 'fourcc');
  return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
}

export function ascii(b: Uint8Array, o: number, n: number): string {
  const end = Math.min(b.length, o + n);
  let s = '';
  for (let i = o; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}

export function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

export function corrupt(what: string): MediaError {
  return new MediaError('corrupt_image', `image is corrupt: ${what}`);
}
