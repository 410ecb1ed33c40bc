import { parentPort } from 'node:worker_threads';
import { compositeFrames, type FramePixels } from './composite.ts';
import { toneMapToSdr, type ToneMapOptions } from './tone-map.ts';

/**
 * The pixel worker thread (see pixel-workers.ts): one job at a time, pure JavaScript over typed arrays. It loads no
 * native addon, so terminating it mid-job leaves nothing half-done behind.
 */

export interface ToneMapJob {
  kind: 'toneMap';
  src: Uint16Array;
  channels: 3 | 4;
  opts: ToneMapOptions;
}

export interface CompositeJob {
  kind: 'composite';
  width: number;
  height: number;
  frames: FramePixels[];
}

export type PixelJob = ToneMapJob | CompositeJob;

export interface PixelReply {
  out: Uint8Array;
}

function work(job: PixelJob): Uint8Array {
  return job.kind === 'toneMap'
    ? toneMapToSdr(job.src, job.channels, job.opts)
    : compositeFrames(job.width, job.height, job.frames);
}

parentPort?.on('message', ({ id, job }: { id: number; job: PixelJob }) => {
  try {
    const out = work(job);
    parentPort!.postMessage({ id, reply: { out } }, [out.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: { message: (err as Error).message } });
  }
});
