import opus from '@discordjs/opus';
import { OggOpusMuxer, OPUS_GRANULE_RATE } from './ogg-opus.ts';
import { resampleInterleaved as resample } from '../../common/resample.ts';
import { AudioInputError, type Pcm } from './wav.ts';

/** 20 ms at 48 kHz: Discord's voice frame and libopus's sweet spot. */
export const FRAME_SAMPLES = 960;

export interface TranscodeOptions {
  bitrate: number;
  /** Ogg stream serial; derive it from the content hash so a retried job writes the same bytes. */
  serial: number;
  maxSeconds: number;
  comments?: string[];
  onProgress?: (fraction: number) => void;
}

export interface TranscodeResult {
  data: Buffer;
  durationMs: number;
  packets: number;
  channels: number;
  inputSampleRate: number;
}

/** Async only so progress messages and cancels get through: it yields to the event loop every ~5% of the frames. */
export async function pcmToOggOpus(pcm: Pcm, opts: TranscodeOptions): Promise<TranscodeResult> {
  const frames = pcm.samples.length / pcm.channels;
  if (frames === 0) throw new AudioInputError('empty_audio', 'the input holds no samples');
  const seconds = frames / pcm.sampleRate;
  if (seconds > opts.maxSeconds)
    throw new AudioInputError('too_long', `${seconds.toFixed(1)} s exceeds the ${opts.maxSeconds} s limit`);

  const pcm48 = resample(pcm.samples, pcm.channels, pcm.sampleRate, OPUS_GRANULE_RATE);
  const total48 = pcm48.length / pcm.channels;
  const encoder = new opus.OpusEncoder(OPUS_GRANULE_RATE, pcm.channels);
  encoder.setBitrate(opts.bitrate);
  const mux = new OggOpusMuxer({
    serial: opts.serial,
    channels: pcm.channels,
    inputSampleRate: pcm.sampleRate,
    comments: ['ENCODER=resound-workers', ...(opts.comments ?? [])],
  });
  // The encoder delays its output by pre-skip samples, so feed that much silence past the end or the tail is lost.
  const needed = total48 + mux.preSkip;
  const count = Math.ceil(needed / FRAME_SAMPLES);
  const frame = Buffer.alloc(FRAME_SAMPLES * pcm.channels * 2);
  const step = Math.max(1, Math.floor(count / 20));
  for (let f = 0; f < count; f++) {
    const base = f * FRAME_SAMPLES * pcm.channels;
    for (let i = 0; i < FRAME_SAMPLES * pcm.channels; i++) {
      const v = base + i < pcm48.length ? pcm48[base + i] : 0;
      frame.writeInt16LE(Math.round(Math.max(-1, Math.min(1, v)) * 32767), i * 2);
    }
    mux.push(encoder.encode(frame), FRAME_SAMPLES);
    if (f % step === 0) {
      opts.onProgress?.(f / count);
      await new Promise((r) => setImmediate(r));
    }
  }
  return {
    data: mux.finish(total48),
    durationMs: Math.round((total48 / OPUS_GRANULE_RATE) * 1000),
    packets: count,
    channels: pcm.channels,
    inputSampleRate: pcm.sampleRate,
  };
}
