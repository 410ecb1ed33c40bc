/**
 * WAV files for benchmarks, fixture generators and tests, through the one WAV codec the product owns (workers' audio
 * transcode, reached through workers' face).
 */
import fs from 'node:fs';
import { encodePcm16Wav, parseWav } from '../workers/index.ts';

/** A WAV file as mono samples in [-1, 1) (channels are averaged). */
export function readWav(file: string): { sampleRate: number; samples: Float32Array } {
  const { sampleRate, channels, samples } = parseWav(fs.readFileSync(file));
  if (channels === 1) return { sampleRate, samples };
  const out = new Float32Array(samples.length / channels);
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[i * channels + c];
    out[i] = sum / channels;
  }
  return { sampleRate, samples: out };
}

/** A 16-bit WAV file as its interleaved integer samples, exactly as stored. */
export function readWavPcm16(file: string): { sampleRate: number; channels: number; pcm: Int16Array } {
  const { sampleRate, channels, samples } = parseWav(fs.readFileSync(file));
  return { sampleRate, channels, pcm: toPcm16(samples) };
}

/** Float samples in [-1, 1] to 16-bit (×32768, clamped): the reader's scale inverted, so 16-bit data round-trips. */
export function toPcm16(samples: Float32Array): Int16Array {
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768)));
  return pcm;
}

/** Writes mono 16-bit PCM. */
export function writeWav(file: string, samples: Float32Array, sampleRate: number): void {
  fs.writeFileSync(file, encodePcm16Wav(toPcm16(samples), sampleRate, 1));
}
