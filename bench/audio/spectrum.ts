import FFT from 'fft.js';

/** FFT helpers on top of fft.js: cached plans, power spectra of real frames, and FFT cross-correlation. */
const plans = new Map<number, FFT>();

function plan(size: number): FFT {
  let p = plans.get(size);
  if (!p) {
    p = new FFT(size);
    plans.set(size, p);
  }
  return p;
}

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** Hann window of `n` points without the zero end points (MATLAB `hanning(n)`, as STOI uses). */
export function hanning(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 1)) / (n + 1));
  return w;
}

/**
 * |FFT|² of `frame` (length ≤ size, zero-padded) into `out` (size/2 + 1 bins). The input buffer is scratch space
 * owned by the caller.
 */
export function powerSpectrum(frame: Float64Array, size: number, out: Float64Array): void {
  const f = plan(size);
  const input = frame.length === size ? frame : padTo(frame, size);
  const spec = f.createComplexArray() as number[];
  f.realTransform(spec, input);
  for (let k = 0; k <= size / 2; k++) {
    const re = spec[2 * k];
    const im = spec[2 * k + 1];
    out[k] = re * re + im * im;
  }
}

function padTo(frame: Float64Array, size: number): Float64Array {
  const p = new Float64Array(size);
  p.set(frame.subarray(0, size));
  return p;
}

/**
 * Cross-correlation r[lag] = Σ x[n]·y[n+lag] for lag in [minLag, maxLag], via one FFT pair.
 * A positive lag means `y` is a delayed copy of `x`.
 */
export function crossCorrelation(x: Float32Array, y: Float32Array, minLag: number, maxLag: number): Float64Array {
  // Just large enough that no lag in [minLag, maxLag] wraps around the circular correlation.
  const size = nextPow2(Math.max(x.length + Math.max(0, maxLag), y.length + Math.max(0, -minLag), 2));
  const f = plan(size);
  const xa = new Float64Array(size);
  const ya = new Float64Array(size);
  for (let i = 0; i < x.length; i++) xa[i] = x[i];
  for (let i = 0; i < y.length; i++) ya[i] = y[i];
  const X = f.createComplexArray() as number[];
  const Y = f.createComplexArray() as number[];
  f.realTransform(X, xa);
  f.completeSpectrum(X);
  f.realTransform(Y, ya);
  f.completeSpectrum(Y);
  // conj(X)·Y gives Σ x[n] y[n+lag] after the inverse transform.
  const P = f.createComplexArray() as number[];
  for (let k = 0; k < size; k++) {
    const xr = X[2 * k];
    const xi = X[2 * k + 1];
    const yr = Y[2 * k];
    const yi = Y[2 * k + 1];
    P[2 * k] = xr * yr + xi * yi;
    P[2 * k + 1] = xr * yi - xi * yr;
  }
  const r = f.createComplexArray() as number[];
  f.inverseTransform(r, P);
  const out = new Float64Array(maxLag - minLag + 1);
  for (let lag = minLag; lag <= maxLag; lag++) {
    const idx = ((lag % size) + size) % size;
    out[lag - minLag] = r[2 * idx];
  }
  return out;
}
