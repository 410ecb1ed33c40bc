import type { Primaries } from '../types.ts';

/**
 * HDR → SDR for PQ and HLG pixels: linearise (PQ EOTF, or HLG inverse OETF + OOTF), compress luminance with the
 * BT.2390 EETF toward the BT.2408 203-nit reference white, convert primaries to BT.709 with a soft, hue-preserving
 * gamut compression, and encode with the sRGB curve to 8 bits. One pass over typed arrays; curves are table look-ups.
 */

const M1 = 2610 / 16384;
const M2 = (2523 / 4096) * 128;
const C1 = 3424 / 4096;
const C2 = (2413 / 4096) * 32;
const C3 = (2392 / 4096) * 32;

/** PQ signal 0…1 → absolute luminance, cd/m². */
export function pqEotf(e: number): number {
  const p = Math.pow(Math.max(e, 0), 1 / M2);
  return 10000 * Math.pow(Math.max(p - C1, 0) / (C2 - C3 * p), 1 / M1);
}

/** Absolute luminance, cd/m² → PQ signal 0…1. */
export function pqInverseEotf(nits: number): number {
  const y = Math.pow(Math.max(nits, 0) / 10000, M1);
  return Math.pow((C1 + C2 * y) / (1 + C3 * y), M2);
}

const HLG_A = 0.17883277;
const HLG_B = 1 - 4 * HLG_A;
const HLG_C = 0.5 - HLG_A * Math.log(4 * HLG_A);

/** HLG signal 0…1 → scene-linear 0…1 (BT.2100 inverse OETF). */
export function hlgInverseOetf(e: number): number {
  return e <= 0.5 ? (e * e) / 3 : (Math.exp((e - HLG_C) / HLG_A) + HLG_B) / 12;
}

/** sRGB encoding of linear light 0…1. */
export function srgbOetf(l: number): number {
  return l <= 0.0031308 ? 12.92 * l : 1.055 * Math.pow(l, 1 / 2.4) - 0.055;
}

/**
 * BT.2390 EETF: maps luminance in [0, sourcePeak] into [0, targetPeak] in the PQ domain; identity below the knee,
 * a Hermite spline above it, so highlights keep their order instead of clipping flat.
 */
export function eetf(nits: number, sourcePeak: number, targetPeak: number): number {
  if (sourcePeak <= targetPeak) return Math.min(nits, sourcePeak);
  const pw = pqInverseEotf(sourcePeak);
  const e1 = pqInverseEotf(nits) / pw;
  const maxLum = pqInverseEotf(targetPeak) / pw;
  const ks = 1.5 * maxLum - 0.5;
  let e2 = e1;
  if (e1 >= ks) {
    const t = Math.min((e1 - ks) / (1 - ks), 1);
    const t2 = t * t;
    const t3 = t2 * t;
    e2 = (2 * t3 - 3 * t2 + 1) * ks + (t3 - 2 * t2 + t) * (1 - ks) + (-2 * t3 + 3 * t2) * maxLum;
  }
  return pqEotf(e2 * pw);
}

/** Luma weights per primaries set (rows of RGB→XYZ Y). */
const LUMA: Record<'bt2020' | 'p3' | 'bt709', [number, number, number]> = {
  bt2020: [0.2627, 0.678, 0.0593],
  p3: [0.2289746, 0.6917385, 0.0792869],
  bt709: [0.2126, 0.7152, 0.0722],
};

/** Linear RGB in the source primaries → linear BT.709 (D65 throughout). */
const TO_709: Record<'bt2020' | 'p3' | 'bt709', number[]> = {
  bt2020: [1.660491, -0.587641, -0.07285, -0.124551, 1.1329, -0.008349, -0.018151, -0.100579, 1.11873],
  p3: [1.224940, -0.224940, 0, -0.042057, 1.042057, 0, -0.019638, -0.078636, 1.098274],
  bt709: [1, 0, 0, 0, 1, 0, 0, 0, 1],
};

export interface ToneMapOptions {
  transfer: 'pq' | 'hlg';
  primaries: Primaries;
  /** Mastering or content peak (clli MaxCLL / mdcv max); measured from the pixels when absent. */
  sourcePeakNits?: number;
  /** HLG nominal display peak for the OOTF; 1000 cd/m² per BT.2100. */
  hlgPeakNits?: number;
  /** SDR reference white; BT.2408 puts HDR graphics white at 203 cd/m². */
  sdrWhiteNits?: number;
}

let pqLut: Float32Array | undefined;
let hlgLut: Float32Array | undefined;
const SRGB_LUT_SIZE = 16384;
let srgbLut: Uint8Array | undefined;

function linearLut(transfer: 'pq' | 'hlg'): Float32Array {
  if (transfer === 'pq') {
    if (!pqLut) {
      pqLut = new Float32Array(65536);
      for (let i = 0; i < 65536; i++) pqLut[i] = pqEotf(i / 65535);
    }
    return pqLut;
  }
  if (!hlgLut) {
    hlgLut = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) hlgLut[i] = hlgInverseOetf(i / 65535);
  }
  return hlgLut;
}

function srgbTable(): Uint8Array {
  if (!srgbLut) {
    srgbLut = new Uint8Array(SRGB_LUT_SIZE + 1);
    for (let i = 0; i <= SRGB_LUT_SIZE; i++) srgbLut[i] = Math.round(255 * srgbOetf(i / SRGB_LUT_SIZE));
  }
  return srgbLut;
}

function primariesKey(p: Primaries): 'bt2020' | 'p3' | 'bt709' {
  if (p === 'bt2020') return 'bt2020';
  if (p === 'p3' || p === 'dci-p3') return 'p3';
  if (p === 'bt709' || p === 'bt601') return 'bt709';
  return 'bt2020'; // PQ/HLG without stated primaries are BT.2100, i.e. BT.2020 primaries
}

/** How much the source peak is widened above SDR white before the EETF (see toneMapToSdr). */
const HIGHLIGHT_MARGIN = 2;

/** Fraction of the distance to the gamut edge where compression starts; colours inside it are untouched. */
const GAMUT_KNEE = 0.8;

function compressExcess(e: number): number {
  if (e <= GAMUT_KNEE) return e;
  const room = 1 - GAMUT_KNEE;
  return GAMUT_KNEE + room * Math.tanh((e - GAMUT_KNEE) / room);
}

/**
 * Tone-maps interleaved 16-bit RGB or RGBA samples (0…65535) to 8-bit sRGB. Alpha is rescaled, never tone-mapped.
 */
export function toneMapToSdr(src: Uint16Array, channels: 3 | 4, opts: ToneMapOptions): Uint8Array {
  const lut = linearLut(opts.transfer);
  const key = primariesKey(opts.primaries);
  const [kr, kg, kb] = LUMA[key];
  const m = TO_709[key];
  const white = opts.sdrWhiteNits ?? 203;
  const hlgPeak = opts.hlgPeakNits ?? 1000;
  const hlgGamma = 1.2 + 0.42 * Math.log10(hlgPeak / 1000);
  const pixels = src.length / channels;

  // Display light in nits for a pixel, HLG's OOTF applied on scene luminance.
  const nitsOf = (r: number, g: number, b: number, out: Float64Array): void => {
    if (opts.transfer === 'pq') {
      out[0] = r;
      out[1] = g;
      out[2] = b;
    } else {
      const ys = kr * r + kg * g + kb * b;
      const k = ys > 0 ? hlgPeak * Math.pow(ys, hlgGamma - 1) : 0;
      out[0] = k * r;
      out[1] = k * g;
      out[2] = k * b;
    }
  };

  let peak = opts.sourcePeakNits;
  const px = new Float64Array(3);
  if (!peak || !(peak > 0)) {
    // Content peak from the brightest luminance: a dim HDR image then needs little or no compression.
    peak = 0;
    for (let i = 0; i < pixels; i++) {
      const o = i * channels;
      nitsOf(lut[src[o]], lut[src[o + 1]], lut[src[o + 2]], px);
      const y = kr * px[0] + kg * px[1] + kb * px[2];
      if (y > peak) peak = y;
    }
  }
  // The EETF's spline flattens as it reaches the source peak, which in 8 bits would merge the brightest highlights.
  // Widening the source range above SDR white by HIGHLIGHT_MARGIN keeps them distinct; content that already fits
  // under SDR white is left exactly as is.
  peak = Math.max(peak, 1);
  if (peak > white) peak += (HIGHLIGHT_MARGIN - 1) * (peak - white);

  // Luminance gain as a function of sqrt(Y / peak): fine steps in the shadows, where the eye is most sensitive.
  const GAIN_SIZE = 4096;
  const gain = new Float32Array(GAIN_SIZE + 2);
  for (let i = 0; i <= GAIN_SIZE + 1; i++) {
    const s = Math.min(i / GAIN_SIZE, 1);
    const y = s * s * peak;
    gain[i] = y > 0 ? eetf(y, peak, white) / y / white : 1 / white;
  }

  const srgb = srgbTable();
  const out = new Uint8Array(pixels * channels);
  for (let i = 0; i < pixels; i++) {
    const o = i * channels;
    nitsOf(lut[src[o]], lut[src[o + 1]], lut[src[o + 2]], px);
    const y = kr * px[0] + kg * px[1] + kb * px[2];
    let g: number;
    if (y <= 0) g = 0;
    else {
      const f = Math.sqrt(Math.min(y / peak, 1)) * GAIN_SIZE;
      const i0 = f | 0;
      g = gain[i0] + (gain[i0 + 1] - gain[i0]) * (f - i0);
    }
    const r0 = px[0] * g;
    const g0 = px[1] * g;
    const b0 = px[2] * g;
    let r = m[0] * r0 + m[1] * g0 + m[2] * b0;
    let gg = m[3] * r0 + m[4] * g0 + m[5] * b0;
    let b = m[6] * r0 + m[7] * g0 + m[8] * b0;
    const l = 0.2126 * r + 0.7152 * gg + 0.0722 * b;
    if (l <= 0) {
      r = gg = b = 0;
    } else if (l >= 1) {
      r = gg = b = 1;
    } else {
      // Excess = how far the colour sits toward (or past) the gamut edge along the line from grey of equal luminance.
      const lo = Math.min(r, gg, b);
      const hi = Math.max(r, gg, b);
      const excess = Math.max(lo < l ? (l - lo) / l : 0, hi > l ? (hi - l) / (1 - l) : 0);
      if (excess > GAMUT_KNEE) {
        const s = compressExcess(excess) / excess;
        r = l + (r - l) * s;
        gg = l + (gg - l) * s;
        b = l + (b - l) * s;
      }
    }
    out[o] = srgb[Math.round(Math.min(Math.max(r, 0), 1) * SRGB_LUT_SIZE)];
    out[o + 1] = srgb[Math.round(Math.min(Math.max(gg, 0), 1) * SRGB_LUT_SIZE)];
    out[o + 2] = srgb[Math.round(Math.min(Math.max(b, 0), 1) * SRGB_LUT_SIZE)];
    if (channels === 4) out[o + 3] = (src[o + 3] + 128) >> 8 > 255 ? 255 : (src[o + 3] + 128) >> 8;
  }
  return out;
}
