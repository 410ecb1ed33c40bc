import type { Cicp } from '../types.ts';

export interface IccFacts {
  colorSpace: string;
  cicp?: Cicp;
}

/**
 * Reads the two facts we need from an ICC profile without a colour engine: the data colour space (RGB/CMYK/GRAY) and
 * the ICC v4.4 `cicp` tag, which is how PQ/HLG images announce themselves through ICC. Malformed tag tables yield no
 * cicp rather than an error: the profile is advisory, the pixels still decode.
 */
export function parseIcc(icc: Uint8Array): IccFacts | undefined {
  if (icc.length < 132) return undefined;
  const dv = new DataView(icc.buffer, icc.byteOffset, icc.byteLength);
  const colorSpace = String.fromCharCode(icc[16], icc[17], icc[18], icc[19]).trim();
  const count = dv.getUint32(128);
  if (count > 1000 || 132 + count * 12 > icc.length) return { colorSpace };
  for (let i = 0; i < count; i++) {
    const e = 132 + i * 12;
    const sig = String.fromCharCode(icc[e], icc[e + 1], icc[e + 2], icc[e + 3]);
    if (sig !== 'cicp') continue;
    const off = dv.getUint32(e + 4);
    const size = dv.getUint32(e + 8);
    if (size < 12 || off + 12 > icc.length) return { colorSpace };
    if (String.fromCharCode(icc[off], icc[off + 1], icc[off + 2], icc[off + 3]) !== 'cicp') return { colorSpace };
    return {
      colorSpace,
      cicp: { primaries: icc[off + 8], transfer: icc[off + 9], matrix: icc[off + 10], fullRange: icc[off + 11] !== 0 },
    };
  }
  return { colorSpace };
}
