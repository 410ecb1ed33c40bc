/**
 * Hostile inputs built inside tests (never committed): zlib-bomb PNGs and long AVIF sequences, for the media proxy's
 * decode limits.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants as zlibConstants, createDeflate } from 'node:zlib';
import { pngChunk } from './image-synth.ts';

/**
 * A flat "zlib bomb" PNG built in the test (never committed): every row is the same, so a 16384×6100 16-bit image
 * compresses to under a megabyte while decoding to 600 MB. Deflated as a stream, so the raw image never exists in
 * memory here. `value` fills every sample (8 or 16 bits); `chunks` go right after IHDR (cICP, cLLi…).
 */
export async function flatPng(
  width: number,
  height: number,
  opts: { depth?: 8 | 16; value?: number; chunks?: Buffer[] } = {},
): Promise<Buffer> {
  const depth = opts.depth ?? 8;
  const bps = depth / 8;
  const row = Buffer.alloc(1 + width * 3 * bps);
  const v = opts.value ?? 0;
  for (let i = 1; i < row.length; i += bps) {
    if (bps === 2) row.writeUInt16BE(v, i);
    else row[i] = v;
  }
  const z = createDeflate({ level: 9, memLevel: 9, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
  const parts: Buffer[] = [];
  z.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise<void>((resolve, reject) => z.on('end', resolve).on('error', reject));
  for (let y = 0; y < height; y++) {
    if (!z.write(row)) await new Promise<void>((r) => z.once('drain', () => r()));
  }
  z.end();
  await done;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...(opts.chunks ?? []),
    pngChunk('IDAT', Buffer.concat(parts)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An n-frame AVIF sequence from avifenc (y4m input, one keyframe): tiny files whose frames avifdec must walk. */
export function avifSequence(width: number, height: number, frames: number): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-seq-'));
  try {
    const y = width * height;
    const head = Buffer.from(`YUV4MPEG2 W${width} H${height} F25:1 Ip A1:1 C420jpeg\n`);
    const body: Buffer[] = [head];
    for (let i = 0; i < frames; i++) {
      const f = Buffer.alloc(6 + y + y / 2, 128);
      f.write('FRAME\n', 0, 'latin1');
      f.fill((i * 37) & 255, 6, 6 + y);
      body.push(f);
    }
    fs.writeFileSync(path.join(dir, 'in.y4m'), Buffer.concat(body));
    execFileSync('avifenc', ['-s', '10', '-j', '1', path.join(dir, 'in.y4m'), path.join(dir, 'out.avif')], {
      stdio: 'ignore',
    });
    return fs.readFileSync(path.join(dir, 'out.avif'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
