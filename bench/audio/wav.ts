import fs from 'node:fs';
import wavefile from 'wavefile';

const { WaveFile } = wavefile;

/** Reads a WAV file as mono float samples in [-1, 1) (channels are averaged). */
export function readWav(file: string): { sampleRate: number; samples: Float32Array } {
  const wav = new WaveFile(fs.readFileSync(file));
  wav.toBitDepth('32f');
  const fmt = wav.fmt as { sampleRate: number; numChannels: number };
  const raw = wav.getSamples(false, Float64Array) as unknown as Float64Array | Float64Array[];
  const chans = Array.isArray(raw) ? raw : [raw];
  const out = new Float32Array(chans[0].length);
  for (const c of chans) for (let i = 0; i < out.length; i++) out[i] += c[i] / chans.length;
  return { sampleRate: fmt.sampleRate, samples: out };
}

/** Writes mono 16-bit PCM. */
export function writeWav(file: string, samples: Float32Array, sampleRate: number): void {
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768)));
  const wav = new WaveFile();
  wav.fromScratch(1, sampleRate, '16', pcm);
  fs.writeFileSync(file, wav.toBuffer());
}
