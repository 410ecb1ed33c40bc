import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { MediaError } from '../errors.ts';
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

function run(bin: string, args: string[], timeoutSeconds: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutSeconds * 1000 }, (err, _out, stderr) =>
      err
        ? reject(
            new MediaError(
              'decode_failed',
              `AVIF could not be decoded: ${String(stderr).trim().split('\n').pop() || err.message}`,
            ),
          )
        : resolve(),
    );
  });
}

/** Decodes frames `indices` of an AVIF to PNGs (8 or 16 bits per sample, same code values, no colour conversion). */
export async function avifdecToPngs(
  bin: string,
  input: Uint8Array,
  depth: 8 | 16,
  indices: number[],
  timeoutSeconds: number,
): Promise<Buffer[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'resound-avifdec-'));
  try {
    const src = path.join(dir, 'in.avif');
    await fs.writeFile(src, input);
    const out: Buffer[] = [];
    for (const i of indices) {
      const dst = path.join(dir, `f${i}.png`);
      await run(bin, ['--depth', String(depth), ...(i > 0 ? ['--index', String(i)] : []), src, dst], timeoutSeconds);
      out.push(await fs.readFile(dst));
    }
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export async function avifdecTo16BitPng(bin: string, input: Uint8Array, timeoutSeconds: number): Promise<Buffer> {
  return (await avifdecToPngs(bin, input, 16, [0], timeoutSeconds))[0];
}

/** Every frame of an AVIF sequence as stacked RGBA, with the container's frame durations. */
export async function decodeAvifSequence(
  input: Uint8Array,
  d: DetectResult,
  timeoutSeconds: number,
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
