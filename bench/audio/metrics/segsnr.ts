/**
 * Segmental SNR (dB): the mean over frames of each frame's SNR, each clamped to [-10, 35] dB so silent or perfect
 * frames cannot dominate (the usual bounds, e.g. Hansen & Pellom 1998). Frames where the reference is more than
 * `silenceDb` below its loudest frame are skipped, as the measure is about speech activity.
 */
export interface SegSnrOptions {
  frameLength?: number;
  minDb?: number;
  maxDb?: number;
  silenceDb?: number;
}

export function segmentalSnr(ref: Float32Array, test: Float32Array, opts: SegSnrOptions = {}): number {
  const frame = opts.frameLength ?? 960;
  const minDb = opts.minDb ?? -10;
  const maxDb = opts.maxDb ?? 35;
  const silenceDb = opts.silenceDb ?? 40;
  const n = Math.min(ref.length, test.length);
  const frames = Math.floor(n / frame);
  const energy = new Float64Array(frames);
  const noise = new Float64Array(frames);
  let maxEnergy = 0;
  for (let f = 0; f < frames; f++) {
    let e = 0;
    let d = 0;
    for (let i = f * frame; i < (f + 1) * frame; i++) {
      e += ref[i] * ref[i];
      const diff = ref[i] - test[i];
      d += diff * diff;
    }
    energy[f] = e;
    noise[f] = d;
    if (e > maxEnergy) maxEnergy = e;
  }
  if (maxEnergy === 0) return NaN;
  const floor = maxEnergy * 10 ** (-silenceDb / 10);
  let sum = 0;
  let used = 0;
  for (let f = 0; f < frames; f++) {
    if (energy[f] <= floor) continue;
    const snr = noise[f] === 0 ? maxDb : 10 * Math.log10(energy[f] / noise[f]);
    sum += Math.min(maxDb, Math.max(minDb, snr));
    used++;
  }
  return used ? sum / used : NaN;
}
