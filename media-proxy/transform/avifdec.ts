import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { MediaError } from '../errors.ts';
import { stoppedBy } from '../limits.ts';
import type { DetectResult } from '../types.ts';
import type { DecodedAnimation } from './apng.ts';

/**
 * libavif's `avifdec` (dav1d) as a second AVIF decoder: for files sharp's decoder refuses (some avifenc output,
 * "Bitstream not supported") and for AVIF sequences, whose frames sharp cannot read at all.
 */

let avifdecPath: string | null | undefined;

export function findAvifdec(): string | undefined {
  if (avifdecPath === undefined) {
    const r = spawnSync('avifdec', ['--version'], { encoding: 'utf8', timeout: 5000 });
    avifdecPath = !r.error && (r.status === 0 || /Version/.test(r.stdout)) ? 'avifdec' : null;
  }
  return avifdecPath ?? undefined;
}

/** Decoders alive now (all requests); each is SIGKILLed when its request stops, and counted down on exit. */
let running = 0;
let started = 0;
export function avifdecRunning(): number {
  return running;
}
/** avifdec runs started since the process began (tests check that a stopped sequence starts no more). */
export function avifdecStarted(): number {
  return started;
}

/**
 * One avifdec run. SIGKILL on timeout or abort (dav1d does not stop on SIGTERM mid-frame), and the promise settles
 * only on the child's exit, so a caller that awaits it knows the decoder is gone.
 */
function run(bin: string, args: string[], timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(stoppedBy(signal));
  running++;
  started++;
  return new Promise<void>((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutSeconds * 1000, killSignal: 'SIGKILL', signal }, (err, _out, stderr) => {
      running--;
      if (!err) return resolve();
      if (signal?.aborted) return reject(stoppedBy(signal));
      reject(
        new MediaError(
          'decode_failed',
          `AVIF could not be decoded: ${String(stderr).trim().split('\n').pop() || err.message}`,
        ),
      );
    });
  });
}

/**
 * Decoder work an AVIF sequence costs here, in decoded pixels. avifdec 0.11 writes one frame per run and reaches
 * frame i by decoding from the nearest keyframe — from frame 0 when, as usual, only the first frame is one — so
 * decoding n frames decodes n(n+1)/2 frames in the worst case.
 */
export function avifSequenceDecodePixels(width: number, height: number, frames: number): number {
  return ((frames * (frames + 1)) / 2) * width * height;
}

/** Decodes frames `indices` of an AVIF to PNGs (8 or 16 bits per sample, same code values, no colour conversion). */
export async function avifdecToPngs(
  bin: string,
  input: Uint8Array,
  depth: 8 | 16,
  indices: number[],
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<Buffer[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'resound-avifdec-'));
  try {
    const src = path.join(dir, 'in.avif');
    await fs.writeFile(src, input);
    const out: Buffer[] = [];
    for (const i of indices) {
      const dst = path.join(dir, `f${i}.png`);
      const args = ['--depth', String(depth), ...(i > 0 ? ['--index', String(i)] : []), src, dst];
      await run(bin, args, timeoutSeconds, signal);
      out.push(await fs.readFile(dst));
    }
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export async function avifdecTo16BitPng(
  bin: string,
  input: Uint8Array,
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  return (await avifdecToPngs(bin, input, 16, [0], timeoutSeconds, signal))[0];
}

/** Every frame of an AVIF sequence as stacked RGBA, with the container's frame durations. */
export async function decodeAvifSequence(
  input: Uint8Array,
  d: DetectResult,
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<DecodedAnimation> {
  const bin = findAvifdec();
  if (!bin)
    throw new MediaError(
      'unsupported_format',
      'animated AVIF needs avifdec (libavif-bin), which is not installed here',
    );
  const pngs = await avifdecToPngs(
    bin,
    input,
    8,
    Array.from({ length: d.frames }, (_, i) => i),
    timeoutSeconds,
    signal,
  );
  const frames: Buffer[] = [];
  let width = 0;
  let height = 0;
  for (const png of pngs) {
    const { data, info } = await sharp(png)
      .ensureAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (frames.length && (info.width !== width || info.height !== height))
      throw new MediaError('corrupt_image', 'AVIF sequence frames differ in size');
    width = info.width;
    height = info.height;
    frames.push(data);
  }
  const delays = d.delays && d.delays.length === frames.length ? d.delays : frames.map(() => 100);
  return { width, height, rgba: Buffer.concat(frames), frames: frames.length, delays, loop: d.loop ?? 0 };
}
