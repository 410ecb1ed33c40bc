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
  p3: [1.22494, -0.22494, 0, -0.042057, 1.042057, 0, -0.019638, -0.078636, 1.098274],
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

/** The brightest luminance PQ can encode (SMPTE ST 2084): no PQ pixel, and so no PQ source peak, exceeds it. */
export const PQ_CEILING_NITS = 10000;

/**
 * The source peak the EETF compresses from. First the content's peak is clamped to what its transfer can encode
 * (`ceiling`: PQ 10,000 cd/m²; HLG its nominal display peak, the OOTF's Lw), so metadata or a measurement beyond it
 * cannot stretch the curve. Then, because the EETF's spline flattens as it reaches the source peak (which in 8 bits
 * would merge the brightest highlights), the range above SDR white is widened by HIGHLIGHT_MARGIN — but never past
 * 10,000 cd/m², the top of the PQ domain the EETF works in: beyond it the knee only slides down and the midtones
 * darken (PQ content measured at 10,000 nits used to be widened to 19,797, putting 203 nits at 186 instead of 195).
 * Content that already fits under SDR white is left exactly as is.
 */
export function sourcePeak(peak: number, ceiling: number, white: number): number {
  const p = Math.min(Math.max(peak, 1), ceiling);
  return p > white ? Math.min(PQ_CEILING_NITS, p + (HIGHLIGHT_MARGIN - 1) * (p - white)) : p;
}

/** Fraction of the distance to the gamut edge where compression starts; colours inside it are untouched. */
const GAMUT_KNEE = 0.8;

function compressExcess(e: number): number {
  if (e <= GAMUT_KNEE) return e;
  const room = 1 - GAMUT_KNEE;
  return GAMUT_KNEE + room * Math.tanh((e - GAMUT_KNEE) / room);
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

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

  const isPq = opts.transfer === 'pq';
  // Display light for HLG: the OOTF scales scene light by Lw · Ys^(γ−1), tabulated over sqrt(Ys) because a pow per
  // pixel would cost more than the rest of the mapping; PQ code values are display light already.
  const OOTF_SIZE = 4096;
  const ootfLut = new Float32Array(OOTF_SIZE + 2);
  for (let i = 0; i <= OOTF_SIZE + 1; i++) {
    const s = Math.min(i / OOTF_SIZE, 1);
    ootfLut[i] = hlgPeak * Math.pow(s * s, hlgGamma - 1);
  }
  const ootf = (r: number, g: number, b: number): number => {
    const ys = kr * r + kg * g + kb * b;
    if (!(ys > 0)) return 0;
    const f = Math.sqrt(ys < 1 ? ys : 1) * OOTF_SIZE;
    const i0 = f | 0;
    return ootfLut[i0] + (ootfLut[i0 + 1] - ootfLut[i0]) * (f - i0);
  };

  let peak = opts.sourcePeakNits;
  if (!peak || !(peak > 0)) {
    // Content peak from the brightest luminance: a dim HDR image then needs little or no compression.
    peak = 0;
    for (let o = 0; o < src.length; o += channels) {
      const r = lut[src[o]];
      const g = lut[src[o + 1]];
      const b = lut[src[o + 2]];
      const y = (kr * r + kg * g + kb * b) * (isPq ? 1 : ootf(r, g, b));
      if (y > peak) peak = y;
    }
  }
  peak = sourcePeak(peak, opts.transfer === 'pq' ? PQ_CEILING_NITS : hlgPeak, white);

  // Luminance gain as a function of sqrt(Y / peak): fine steps in the shadows, where the eye is most sensitive.
  const GAIN_SIZE = 4096;
  const gain = new Float32Array(GAIN_SIZE + 2);
  for (let i = 0; i <= GAIN_SIZE + 1; i++) {
    const s = Math.min(i / GAIN_SIZE, 1);
    const y = s * s * peak;
    gain[i] = y > 0 ? eetf(y, peak, white) / y / white : 1 / white;
  }

  const srgb = srgbTable();
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = m;
  const invPeak = 1 / peak;
  const out = new Uint8Array(pixels * channels);
  for (let o = 0; o < src.length; o += channels) {
    let pr = lut[src[o]];
    let pg = lut[src[o + 1]];
    let pb = lut[src[o + 2]];
    if (!isPq) {
      const k = ootf(pr, pg, pb);
      pr *= k;
      pg *= k;
      pb *= k;
    }
    const y = kr * pr + kg * pg + kb * pb;
    let g = 0;
    if (y > 0) {
      const q = y * invPeak;
      const f = Math.sqrt(q < 1 ? q : 1) * GAIN_SIZE;
      const i0 = f | 0;
      g = gain[i0] + (gain[i0 + 1] - gain[i0]) * (f - i0);
    }
    pr *= g;
    pg *= g;
    pb *= g;
    let r = m0 * pr + m1 * pg + m2 * pb;
    let gg = m3 * pr + m4 * pg + m5 * pb;
    let b = m6 * pr + m7 * pg + m8 * pb;
    const l = 0.2126 * r + 0.7152 * gg + 0.0722 * b;
    if (l <= 0) {
      r = gg = b = 0;
    } else if (l >= 1) {
      r = gg = b = 1;
    } else {
      // Excess = how far the colour sits toward (or past) the gamut edge along the line from grey of equal luminance.
      const lo = r < gg ? (r < b ? r : b) : gg < b ? gg : b;
      const hi = r > gg ? (r > b ? r : b) : gg > b ? gg : b;
      const eLo = lo < l ? (l - lo) / l : 0;
      const eHi = hi > l ? (hi - l) / (1 - l) : 0;
      const excess = eLo > eHi ? eLo : eHi;
      if (excess > GAMUT_KNEE) {
        const s = compressExcess(excess) / excess;
        r = l + (r - l) * s;
        gg = l + (gg - l) * s;
        b = l + (b - l) * s;
      }
    }
    out[o] = srgb[(clamp01(r) * SRGB_LUT_SIZE + 0.5) | 0];
    out[o + 1] = srgb[(clamp01(gg) * SRGB_LUT_SIZE + 0.5) | 0];
    out[o + 2] = srgb[(clamp01(b) * SRGB_LUT_SIZE + 0.5) | 0];
    if (channels === 4) out[o + 3] = Math.min(255, (src[o + 3] + 128) >> 8);
  }
  return out;
}
