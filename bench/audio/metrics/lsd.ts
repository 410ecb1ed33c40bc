import { powerSpectrum } from '../spectrum.ts';

/**
 * Log-spectral distance (dB): per frame, the RMS over frequency bins of the difference of the two log power spectra;
 * averaged over frames where the reference is active (within `silenceDb` of its loudest frame). 0 for identical
 * signals; a pure gain g gives |20·log10 g| exactly.
 */
export interface LsdOptions {
  frameLength?: number;
  hop?: number;
  silenceDb?: number;
}

export function logSpectralDistance(ref: Float32Array, test: Float32Array, opts: LsdOptions = {}): number {
  const size = opts.frameLength ?? 1024;
  const hop = opts.hop ?? size / 2;
  const silenceDb = opts.silenceDb ?? 40;
  const n = Math.min(ref.length, test.length);
  const window = new Float64Array(size);
  for (let i = 0; i < size; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size);
  const bins = size / 2 + 1;
  const fx = new Float64Array(size);
  const fy = new Float64Array(size);
  const px = new Float64Array(bins);
  const py = new Float64Array(bins);
  const distances: number[] = [];
  const energies: number[] = [];
  for (let start = 0; start + size <= n; start += hop) {
    let e = 0;
    for (let i = 0; i < size; i++) {
      fx[i] = ref[start + i] * window[i];
      fy[i] = test[start + i] * window[i];
      e += fx[i] * fx[i];
    }
    powerSpectrum(fx, size, px);
    powerSpectrum(fy, size, py);
    // A floor far below audibility keeps empty bins (digital silence) finite without biasing real content.
    const floor = 1e-12 * size;
    let acc = 0;
    for (let k = 0; k < bins; k++) {
      const d = 10 * Math.log10((px[k] + floor) / (py[k] + floor));
      acc += d * d;
    }
    distances.push(Math.sqrt(acc / bins));
    energies.push(e);
  }
  const maxE = Math.max(0, ...energies);
  if (maxE === 0) return NaN;
  const threshold = maxE * 10 ** (-silenceDb / 10);
  let sum = 0;
  let used = 0;
  for (let i = 0; i < distances.length; i++) {
    if (energies[i] <= threshold) continue;
    sum += distances[i];
    used++;
  }
  return used ? sum / used : NaN;
}
