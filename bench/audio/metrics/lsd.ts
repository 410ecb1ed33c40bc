import { powerSpectrum } from '../spectrum.ts';

/**
 * Log-spectral distance (dB): per frame, the RMS over frequency bins (0–`maxHz`) of the difference of the two log
 * power spectra; averaged over frames where the reference is active (within `silenceDb` of its loudest frame). Both
 * spectra are floored `rangeDb` below the reference's strongest bin, so bins that are numerically empty on one side
 * (digital silence, content above a codec's cut-off) count as a bounded error instead of swamping the mean. 0 for
 * identical signals; a pure gain g gives |20·log10 g| wherever the floor does not bite.
 */
export interface LsdOptions {
  frameLength?: number;
  hop?: number;
  silenceDb?: number;
  rangeDb?: number;
  sampleRate?: number;
  /** Upper edge of the band compared: 20 kHz, the limit of hearing and of Opus fullband. */
  maxHz?: number;
}

export function logSpectralDistance(ref: Float32Array, test: Float32Array, opts: LsdOptions = {}): number {
  const size = opts.frameLength ?? 1024;
  const hop = opts.hop ?? size / 2;
  const silenceDb = opts.silenceDb ?? 40;
  const rangeDb = opts.rangeDb ?? 80;
  const sampleRate = opts.sampleRate ?? 48000;
  const n = Math.min(ref.length, test.length);
  const window = new Float64Array(size);
  for (let i = 0; i < size; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size);
  const bins = Math.min(size / 2 + 1, Math.floor(((opts.maxHz ?? 20000) * size) / sampleRate) + 1);
  const fx = new Float64Array(size);
  const fy = new Float64Array(size);
  const px = new Float64Array(size / 2 + 1);
  const py = new Float64Array(size / 2 + 1);
  const frames: Array<{ x: Float64Array; y: Float64Array; e: number }> = [];
  let peak = 0;
  for (let start = 0; start + size <= n; start += hop) {
    let e = 0;
    for (let i = 0; i < size; i++) {
      fx[i] = ref[start + i] * window[i];
      fy[i] = test[start + i] * window[i];
      e += fx[i] * fx[i];
    }
    powerSpectrum(fx, size, px);
    powerSpectrum(fy, size, py);
    const x = px.slice(0, bins);
    for (const v of x) if (v > peak) peak = v;
    frames.push({ x, y: py.slice(0, bins), e });
  }
  const floor = Math.max(peak * 10 ** (-rangeDb / 10), Number.MIN_VALUE);
  const distances: number[] = [];
  const energies: number[] = [];
  for (const f of frames) {
    let acc = 0;
    for (let k = 0; k < bins; k++) {
      const d = 10 * Math.log10(Math.max(f.x[k], floor) / Math.max(f.y[k], floor));
      acc += d * d;
    }
    distances.push(Math.sqrt(acc / bins));
    energies.push(f.e);
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
