import { resample } from '../../../common/resample.ts';
import { hanning, powerSpectrum } from '../spectrum.ts';

/**
 * Short-Time Objective Intelligibility (Taal, Hendriks, Heusdens, Jensen, IEEE TASLP 19(7), 2011), following the
 * published algorithm: resample to 10 kHz; drop frames more than 40 dB below the loudest clean frame; 256-sample Hann
 * frames with 50 % overlap and a 512-point FFT; 15 one-third-octave bands from 150 Hz; 384 ms (30-frame) segments;
 * the degraded envelope is normalised to the clean one and clipped at a -15 dB signal-to-distortion ratio; the score
 * is the mean correlation of clean and degraded band envelopes. No registry package implements it for Node.
 */
const FS = 10000;
const FRAME = 256;
const NFFT = 512;
const BANDS = 15;
const MIN_FREQ = 150;
const SEGMENT = 30;
const BETA_DB = -15;
const DYN_RANGE_DB = 40;
const EPS = 1e-12;

export function stoi(clean: Float32Array, degraded: Float32Array, sampleRate: number): number {
  const n = Math.min(clean.length, degraded.length);
  let x = resample(clean.subarray(0, n), sampleRate, FS);
  let y = resample(degraded.subarray(0, n), sampleRate, FS);
  [x, y] = removeSilentFrames(x, y);
  const xBands = bandEnvelopes(x);
  const yBands = bandEnvelopes(y);
  const frames = xBands.length / BANDS;
  if (frames < SEGMENT) return NaN;
  const clip = 1 + 10 ** (-BETA_DB / 20);
  const xs = new Float64Array(SEGMENT);
  const ys = new Float64Array(SEGMENT);
  let sum = 0;
  let count = 0;
  for (let m = SEGMENT; m <= frames; m++) {
    for (let b = 0; b < BANDS; b++) {
      let nx = 0;
      let ny = 0;
      for (let t = 0; t < SEGMENT; t++) {
        xs[t] = xBands[(m - SEGMENT + t) * BANDS + b];
        ys[t] = yBands[(m - SEGMENT + t) * BANDS + b];
        nx += xs[t] * xs[t];
        ny += ys[t] * ys[t];
      }
      const alpha = Math.sqrt(nx) / (Math.sqrt(ny) + EPS);
      for (let t = 0; t < SEGMENT; t++) ys[t] = Math.min(ys[t] * alpha, xs[t] * clip);
      sum += correlation(xs, ys);
      count++;
    }
  }
  return sum / count;
}

function correlation(a: Float64Array, b: Float64Array): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= a.length;
  mb /= b.length;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    const u = a[i] - ma;
    const v = b[i] - mb;
    num += u * v;
    da += u * u;
    db += v * v;
  }
  return num / (Math.sqrt(da) * Math.sqrt(db) + EPS);
}

/** Frames (hop FRAME/2) whose clean energy is within DYN_RANGE_DB of the loudest, overlap-added back together. */
function removeSilentFrames(x: Float32Array, y: Float32Array): [Float32Array, Float32Array] {
  const w = hanning(FRAME);
  const hop = FRAME / 2;
  const starts: number[] = [];
  const energies: number[] = [];
  for (let s = 0; s + FRAME <= x.length; s += hop) {
    let e = 0;
    for (let i = 0; i < FRAME; i++) e += (x[s + i] * w[i]) ** 2;
    starts.push(s);
    energies.push(20 * Math.log10(Math.sqrt(e) + EPS));
  }
  const maxE = Math.max(...energies);
  const kept = starts.filter((_, i) => energies[i] > maxE - DYN_RANGE_DB);
  const len = kept.length ? (kept.length - 1) * hop + FRAME : 0;
  const xo = new Float32Array(len);
  const yo = new Float32Array(len);
  kept.forEach((s, k) => {
    for (let i = 0; i < FRAME; i++) {
      xo[k * hop + i] += x[s + i] * w[i];
      yo[k * hop + i] += y[s + i] * w[i];
    }
  });
  return [xo, yo];
}

let octaveBands: Array<[number, number]> | undefined;

/** One-third-octave band edges as FFT bin ranges [lo, hi), edges snapped to the nearest bin. */
function thirdOctaveBins(): Array<[number, number]> {
  if (octaveBands) return octaveBands;
  const bins = NFFT / 2 + 1;
  const nearest = (f: number) => {
    let best = 0;
    for (let k = 1; k < bins; k++) if (Math.abs((k * FS) / NFFT - f) < Math.abs((best * FS) / NFFT - f)) best = k;
    return best;
  };
  octaveBands = [];
  for (let b = 0; b < BANDS; b++) {
    octaveBands.push([nearest(MIN_FREQ * 2 ** ((2 * b - 1) / 6)), nearest(MIN_FREQ * 2 ** ((2 * b + 1) / 6))]);
  }
  return octaveBands;
}

/** Band envelopes, frame-major: out[frame·BANDS + band] = sqrt(Σ_bins |X|²). */
function bandEnvelopes(x: Float32Array): Float64Array {
  const w = hanning(FRAME);
  const hop = FRAME / 2;
  const edges = thirdOctaveBins();
  const frames: number[] = [];
  for (let s = 0; s + FRAME < x.length; s += hop) frames.push(s);
  const out = new Float64Array(frames.length * BANDS);
  const buf = new Float64Array(NFFT);
  const power = new Float64Array(NFFT / 2 + 1);
  frames.forEach((s, f) => {
    buf.fill(0);
    for (let i = 0; i < FRAME; i++) buf[i] = x[s + i] * w[i];
    powerSpectrum(buf, NFFT, power);
    for (let b = 0; b < BANDS; b++) {
      let acc = 0;
      for (let k = edges[b][0]; k < edges[b][1]; k++) acc += power[k];
      out[f * BANDS + b] = Math.sqrt(acc);
    }
  });
  return out;
}
