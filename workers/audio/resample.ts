/**
 * Band-limited resampling of interleaved PCM to another rate (Kaiser-windowed sinc, 32 taps). Opus only accepts
 * 8/12/16/24/48 kHz, and uploads arrive at 44.1 kHz and friends, so everything that is not 48 kHz goes through here.
 */
const HALF_TAPS = 16;
const KAISER_BETA = 8.6;
const TABLE_STEPS = 256;

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 30; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

const I0_BETA = besselI0(KAISER_BETA);

/** sinc(cutoff·x) under a Kaiser window spanning `reach` input samples each side; x in input samples. */
function kernel(x: number, cutoff: number, reach: number): number {
  const r = x / reach;
  if (r <= -1 || r >= 1) return 0;
  const w = besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / I0_BETA;
  const t = Math.PI * cutoff * x;
  return (t === 0 ? 1 : Math.sin(t) / t) * w;
}

export function resample(samples: Float32Array, channels: number, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return samples;
  const frames = samples.length / channels;
  const outFrames = Math.floor((frames * toRate) / fromRate);
  const out = new Float32Array(outFrames * channels);
  const step = fromRate / toRate;
  // Downsampling narrows the filter to the new Nyquist; upsampling keeps the source's.
  const cutoff = Math.min(1, toRate / fromRate) * 0.97;
  const reach = HALF_TAPS / cutoff;
  const weights = new Float64Array(Math.ceil(reach) * 2 + 2);
  // The kernel is even and fixed per call: tabulate it at 1/256-sample steps instead of evaluating Bessel per tap.
  const table = new Float64Array(Math.ceil(reach * TABLE_STEPS) + 2);
  for (let i = 0; i < table.length; i++) table[i] = kernel(i / TABLE_STEPS, cutoff, reach);
  for (let o = 0; o < outFrames; o++) {
    const t = o * step;
    const first = Math.max(0, Math.ceil(t - reach));
    const last = Math.min(frames - 1, Math.floor(t + reach));
    let norm = 0;
    for (let k = first; k <= last; k++) {
      const pos = Math.abs(t - k) * TABLE_STEPS;
      const i = Math.floor(pos);
      const w = table[i] + (table[i + 1] - table[i]) * (pos - i);
      weights[k - first] = w;
      norm += w;
    }
    // Normalising by the weight sum keeps DC gain at exactly 1, also at the clipped edges.
    for (let c = 0; c < channels; c++) {
      let acc = 0;
      for (let k = first; k <= last; k++) acc += samples[k * channels + c] * weights[k - first];
      out[o * channels + c] = norm ? acc / norm : 0;
    }
  }
  return out;
}
