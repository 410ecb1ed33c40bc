import { describe, expect, it } from 'vitest';
import {
  alignTo,
  createRng,
  estimateDelay,
  gaussian,
  logSpectralDistance,
  resample,
  segmentalSnr,
  stoi,
} from '../../bench/audio/index.ts';
import { audioFixture, readWav } from '../../testkit/index.ts';

const RATE = 48000;
const speech = readWav(audioFixture('speech-female.wav')).samples;

function whiteNoise(n: number, seed: number, rms = 0.1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => gaussian(rng) * rms);
}

function scaled(x: Float32Array, g: number): Float32Array {
  return x.map((v) => v * g);
}

function plus(x: Float32Array, y: Float32Array, g = 1): Float32Array {
  return x.map((v, i) => v + g * y[i]);
}

function rms(x: Float32Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return Math.sqrt(e / x.length);
}

describe('segmental SNR', () => {
  it('gives the upper clamp for identical signals', () => {
    expect(segmentalSnr(speech, speech)).toBe(35);
  });

  it('gives 20·log10(1/(1-g)) for a pure gain g', () => {
    // ref − 0.5·ref = 0.5·ref in every frame: SNR = 20·log10(2) = 6.02 dB.
    expect(segmentalSnr(speech, scaled(speech, 0.5))).toBeCloseTo(6.0206, 3);
  });

  it('recovers the SNR of stationary white noise added to white noise', () => {
    const x = whiteNoise(RATE * 4, 1);
    const n = whiteNoise(RATE * 4, 2);
    const y = plus(x, n, 0.1); // 20 dB below the signal
    expect(segmentalSnr(x, y)).toBeGreaterThan(19.5);
    expect(segmentalSnr(x, y)).toBeLessThan(20.5);
  });

  it('clamps hopeless frames at -10 dB', () => {
    expect(segmentalSnr(speech, scaled(speech, -10))).toBe(-10);
  });
});

describe('log-spectral distance', () => {
  it('is 0 for identical signals', () => {
    expect(logSpectralDistance(speech, speech)).toBe(0);
  });

  it('is |20·log10 g| for a gain g', () => {
    const x = whiteNoise(RATE * 2, 3);
    expect(logSpectralDistance(x, scaled(x, 0.5))).toBeCloseTo(20 * Math.log10(2), 3);
    expect(logSpectralDistance(x, scaled(x, 2))).toBeCloseTo(20 * Math.log10(2), 3);
  });

  it('grows with added noise', () => {
    const n = whiteNoise(speech.length, 4, rms(speech));
    const d = [0.01, 0.1, 1].map((g) => logSpectralDistance(speech, plus(speech, n, g)));
    expect(d[0]).toBeLessThan(d[1]);
    expect(d[1]).toBeLessThan(d[2]);
  });
});

describe('STOI', () => {
  it('is 1 for identical signals', () => {
    expect(stoi(speech, speech, RATE)).toBeCloseTo(1, 6);
  });

  it('ignores overall gain (the degraded envelope is normalised to the clean one)', () => {
    expect(stoi(speech, scaled(speech, 0.25), RATE)).toBeCloseTo(1, 6);
  });

  it('falls monotonically as white noise is added, lowest for unrelated noise', () => {
    const n = whiteNoise(speech.length, 5, rms(speech));
    const scores = [20, 10, 5, 0, -5].map((snrDb) => stoi(speech, plus(speech, n, 10 ** (-snrDb / 20)), RATE));
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeLessThan(scores[i - 1]);
    expect(scores[0]).toBeGreaterThan(0.95);
    // Not 0: clipping at -15 dB SDR copies the clean envelope wherever the noise is far above it.
    const unrelated = stoi(speech, n, RATE);
    expect(unrelated).toBeLessThan(scores[scores.length - 1]);
    expect(unrelated).toBeLessThan(0.5);
  });

  it('is undefined (NaN) for less than one 384 ms segment of speech', () => {
    const short = speech.subarray(0, Math.round(RATE * 0.2));
    expect(stoi(short, short, RATE)).toBeNaN();
  });
});

describe('delay estimate and alignment', () => {
  it('finds a known shift and aligns the signal back exactly', () => {
    for (const shift of [0, 1, 123, 4801]) {
      const delayed = new Float32Array(speech.length + shift);
      delayed.set(speech, shift);
      expect(estimateDelay(speech, delayed, 9600)).toBe(shift);
      expect(
        Buffer.compare(Buffer.from(alignTo(delayed, shift, speech.length).buffer), Buffer.from(speech.buffer)),
      ).toBe(0);
    }
  });

  it('finds the shift through noise and attenuation', () => {
    const delayed = new Float32Array(speech.length + 3000);
    delayed.set(scaled(speech, 0.3), 3000);
    const noisy = plus(delayed, whiteNoise(delayed.length, 6, 0.02));
    expect(estimateDelay(speech, noisy, 9600)).toBe(3000);
  });
});

describe('resample', () => {
  it('keeps a 1 kHz tone intact from 48 kHz to 10 kHz', () => {
    const x = Float32Array.from({ length: RATE }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / RATE));
    const y = resample(x, RATE, 10000);
    expect(y.length).toBe(10000);
    let err = 0;
    for (let i = 200; i < 9800; i++) err = Math.max(err, Math.abs(y[i] - Math.sin((2 * Math.PI * 1000 * i) / 10000)));
    expect(err).toBeLessThan(1e-3);
  });

  it('removes content above the new Nyquist frequency', () => {
    const x = Float32Array.from({ length: RATE }, (_, i) => Math.sin((2 * Math.PI * 9000 * i) / RATE));
    expect(rms(resample(x, RATE, 10000).subarray(200, 9800))).toBeLessThan(1e-3);
  });
});
