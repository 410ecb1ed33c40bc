/**
 * Band-limited rational resampling (polyphase windowed sinc, Kaiser window), deterministic and synchronous: STOI works
 * at 10 kHz, fixtures arrive at 22.05 kHz, Opus takes only 8/12/16/24/48 kHz. The registry resamplers are
 * browser/WASM-bound or asynchronous, and this is ~60 lines.
 */
const ZERO_CROSSINGS = 16;
const KAISER_BETA = 8;

export function resample(x: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return Float32Array.from(x);
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  // Cut off at the lower Nyquist of the two rates, expressed in input samples.
  const scale = Math.min(1, up / down);
  const halfTaps = Math.ceil(ZERO_CROSSINGS / scale);
  const taps = 2 * halfTaps;
  const table = new Float64Array(up * taps);
  for (let phase = 0; phase < up; phase++) {
    const frac = phase / up;
    for (let k = 0; k < taps; k++) {
      const t = k - halfTaps + 1 - frac; // distance from the output instant, in input samples
      const w = kaiser(t / (halfTaps + 1), KAISER_BETA);
      table[phase * taps + k] = scale * sinc(scale * t) * w;
    }
  }
  const outLen = Math.floor((x.length * up) / down);
  const out = new Float32Array(outLen);
  for (let n = 0; n < outLen; n++) {
    const pos = n * down;
    const base = Math.floor(pos / up);
    const phase = pos - base * up;
    let acc = 0;
    const row = phase * taps;
    const start = base - halfTaps + 1;
    for (let k = 0; k < taps; k++) {
      const idx = start + k;
      if (idx >= 0 && idx < x.length) acc += x[idx] * table[row + k];
    }
    out[n] = acc;
  }
  return out;
}

/** Interleaved multi-channel PCM: each channel resampled on its own, then interleaved again. */
export function resampleInterleaved(
  samples: Float32Array,
  channels: number,
  fromRate: number,
  toRate: number,
): Float32Array {
  if (fromRate === toRate) return samples;
  if (channels === 1) return resample(samples, fromRate, toRate);
  const frames = samples.length / channels;
  const lanes: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const lane = new Float32Array(frames);
    for (let i = 0; i < frames; i++) lane[i] = samples[i * channels + c];
    lanes.push(resample(lane, fromRate, toRate));
  }
  const outFrames = lanes[0].length;
  const out = new Float32Array(outFrames * channels);
  for (let c = 0; c < channels; c++) for (let i = 0; i < outFrames; i++) out[i * channels + c] = lanes[c][i];
  return out;
}

function sinc(v: number): number {
  if (v === 0) return 1;
  const p = Math.PI * v;
  return Math.sin(p) / p;
}

function kaiser(r: number, beta: number): number {
  if (Math.abs(r) > 1) return 0;
  return besselI0(beta * Math.sqrt(1 - r * r)) / besselI0(beta);
}

function besselI0(v: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (v / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
