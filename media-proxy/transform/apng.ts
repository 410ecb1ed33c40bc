import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { MediaError } from '../errors.ts';
import { PNG_SIGNATURE, pngChunks } from '../detect/index.ts';
import { stoppedBy } from '../limits.ts';
import type { FramePixels } from './composite.ts';
import { pixelWorkers, toMovable } from './pixel-workers.ts';

/**
 * sharp reads an APNG as one still frame, so animation needs a decoder of its own. This one reuses the PNG decoder:
 * each frame's fdAT/IDAT data is rewrapped as a standalone PNG (IHDR with the frame size + the shared PLTE/tRNS),
 * decoded to RGBA by sharp, and composited onto the canvas with the APNG dispose/blend rules in a pixel worker thread
 * (composite.ts), off the main thread.
 */

export interface DecodedAnimation {
  width: number;
  height: number;
  /** Frames stacked top to bottom, RGBA, `height` rows each. */
  rgba: Buffer;
  frames: number;
  delays: number[];
  loop: number;
}

interface FrameControl {
  width: number;
  height: number;
  x: number;
  y: number;
  delayMs: number;
  dispose: number;
  blend: number;
  data: Buffer[];
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

export async function decodeApng(input: Uint8Array, signal?: AbortSignal): Promise<DecodedAnimation> {
  const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const chunks = pngChunks(b);
  const ihdr = chunks[0];
  const canvasW = b.readUInt32BE(ihdr.data);
  const canvasH = b.readUInt32BE(ihdr.data + 4);
  const shared: Buffer[] = [];
  const frames: FrameControl[] = [];
  let loop = 0;
  let declared = 0;
  let current: FrameControl | undefined;
  for (const c of chunks) {
    const data = b.subarray(c.data, c.data + c.length);
    switch (c.type) {
      case 'acTL':
        if (c.length < 8) throw new MediaError('corrupt_image', 'APNG acTL chunk is too short');
        declared = data.readUInt32BE(0);
        loop = data.readUInt32BE(4);
        break;
      case 'PLTE':
      case 'tRNS':
        shared.push(chunk(c.type, data));
        break;
      case 'fcTL': {
        if (c.length < 26) throw new MediaError('corrupt_image', 'APNG fcTL chunk is too short');
        const den = data.readUInt16BE(22) || 100;
        current = {
          width: data.readUInt32BE(4),
          height: data.readUInt32BE(8),
          x: data.readUInt32BE(12),
          y: data.readUInt32BE(16),
          delayMs: Math.round((data.readUInt16BE(20) * 1000) / den),
          dispose: data[24],
          blend: data[25],
          data: [],
        };
        if (
          current.x + current.width > canvasW ||
          current.y + current.height > canvasH ||
          current.width === 0 ||
          current.height === 0
        ) {
          throw new MediaError('corrupt_image', 'APNG frame lies outside the canvas');
        }
        // The limits were checked against acTL's count; more fcTLs than declared would let a file outgrow them.
        if (frames.length >= declared)
          throw new MediaError('corrupt_image', `APNG has more frames than its acTL declares (${declared})`);
        frames.push(current);
        break;
      }
      case 'IDAT':
        // IDAT is frame 0 only when an fcTL came before it; otherwise it is a default image outside the animation.
        current?.data.push(data);
        break;
      case 'fdAT':
        current?.data.push(data.subarray(4));
        break;
    }
  }
  if (frames.length === 0) throw new MediaError('corrupt_image', 'APNG has no frames');
  const ihdrData = Buffer.from(b.subarray(ihdr.data, ihdr.data + 13));
  const decoded: FramePixels[] = [];
  for (let f = 0; f < frames.length; f++) {
    if (signal?.aborted) throw stoppedBy(signal);
    const fc = frames[f];
    if (fc.data.length === 0) throw new MediaError('corrupt_image', `APNG frame ${f} has no image data`);
    const head = Buffer.from(ihdrData);
    head.writeUInt32BE(fc.width, 0);
    head.writeUInt32BE(fc.height, 4);
    const png = Buffer.concat([
      Buffer.from(PNG_SIGNATURE),
      chunk('IHDR', head),
      ...shared,
      ...fc.data.map((d) => chunk('IDAT', d)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    let decodedFrame: Buffer;
    try {
      decodedFrame = await sharp(png, { failOn: 'error' })
        .ensureAlpha()
        .toColourspace('srgb')
        .raw({ depth: 'uchar' })
        .toBuffer();
    } catch (err) {
      throw new MediaError('decode_failed', `APNG frame ${f} could not be decoded: ${(err as Error).message}`);
    }
    // Into movable memory frame by frame, so sharp's native buffers do not pile up beside the copies.
    const pixels = await toMovable(new Uint8Array(decodedFrame.buffer, decodedFrame.byteOffset, decodedFrame.length));
    decoded.push({
      pixels,
      width: fc.width,
      height: fc.height,
      x: fc.x,
      y: fc.y,
      dispose: fc.dispose,
      blend: fc.blend,
    });
  }
  const out = await pixelWorkers.composite({ width: canvasW, height: canvasH, frames: decoded }, signal);
  return {
    width: canvasW,
    height: canvasH,
    rgba: Buffer.from(out.buffer, out.byteOffset, out.byteLength),
    frames: frames.length,
    delays: frames.map((x) => x.delayMs),
    loop,
  };
}
