import path from 'node:path';
import type { SandboxedJob } from 'bullmq';
import { writeFileAtomic } from '../atomic-write.ts';
import { AudioInputError, parseS16le, parseWav } from '../audio/wav.ts';
import { pcmToOggOpus } from '../audio/transcode.ts';
import { JobInputError } from '../errors.ts';
import { audioJobData, audioOutputFile, sha256Of } from '../queues.ts';
import { parseJobData, readSource } from './input.ts';

export interface AudioResult {
  output: string;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  channels: number;
  inputSampleRate: number;
  sha256: string;
}

/** Sandboxed processor of the `audio` queue: WAV or raw s16le → Ogg Opus, written atomically. */
export default async function processAudio(job: SandboxedJob): Promise<AudioResult> {
  const data = parseJobData(audioJobData, job.data);
  const input = await readSource(data.source, data.sha256, data.maxBytes);
  await job.updateProgress(5);
  let result;
  try {
    const pcm =
      data.input.format === 'wav' ? parseWav(input) : parseS16le(input, data.input.sampleRate, data.input.channels);
    let last = 5;
    result = await pcmToOggOpus(pcm, {
      bitrate: data.bitrate,
      // The serial comes from the content so a retry writes byte-identical output.
      serial: parseInt(data.sha256.slice(0, 8), 16),
      maxSeconds: data.maxSeconds,
      comments: [`RESOUND_PURPOSE=${data.purpose}`],
      onProgress: (f) => {
        const p = 5 + Math.floor(f * 90);
        if (p > last) {
          last = p;
          void job.updateProgress(p);
        }
      },
    });
  } catch (err) {
    if (err instanceof AudioInputError) throw new JobInputError(err.code, err.message.replace(/^[a-z_]+: /, ''));
    throw err;
  }
  const output = audioOutputFile(data);
  await writeFileAtomic(output, result.data);
  await job.updateProgress(100);
  return {
    output: path.resolve(output),
    bytesIn: input.length,
    bytesOut: result.data.length,
    durationMs: result.durationMs,
    channels: result.channels,
    inputSampleRate: result.inputSampleRate,
    sha256: sha256Of(result.data),
  };
}
