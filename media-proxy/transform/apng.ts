import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { MediaError } from '../errors.ts';
import { PNG_SIGNATURE, pngChunks } from '../detect/index.ts';

/**
 * sharp reads an APNG as one still frame, so animation needs a decoder of its own. This one reuses the PNG decoder:
 * each frame's fdAT/IDAT data is rewrapped as a standalone PNG (IHDR with the frame size + the shared PLTE/tRNS),
 * decoded to RGBA by sharp, and composited onto the canvas with the APNG dispose/blend rules.
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

export async function decodeApng(input: Uint8Array): Promise<DecodedAnimation> {
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
  const canvas = Buffer.alloc(canvasW * canvasH * 4);
  const out = Buffer.alloc(canvas.length * frames.length);
  for (let f = 0; f < frames.length; f++) {
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
    let pixels: Buffer;
    try {
      pixels = await sharp(png, { failOn: 'error' })
        .ensureAlpha()
        .toColourspace('srgb')
        .raw({ depth: 'uchar' })
        .toBuffer();
    } catch (err) {
      throw new MediaError('decode_failed', `APNG frame ${f} could not be decoded: ${(err as Error).message}`);
    }
    const saved = fc.dispose === 2 ? Buffer.from(canvas) : undefined;
    blit(canvas, canvasW, pixels, fc, f === 0 ? 0 : fc.blend);
    canvas.copy(out, f * canvas.length);
    if (fc.dispose === 1) clearRect(canvas, canvasW, fc);
    else if (saved) saved.copy(canvas);
  }
  return {
    width: canvasW,
    height: canvasH,
    rgba: out,
    frames: frames.length,
    delays: frames.map((x) => x.delayMs),
    loop,
  };
}

function blit(canvas: Buffer, cw: number, src: Buffer, fc: FrameControl, blend: number): void {
  for (let y = 0; y < fc.height; y++) {
    for (let x = 0; x < fc.width; x++) {
      const s = (y * fc.width + x) * 4;
      const d = ((fc.y + y) * cw + fc.x + x) * 4;
      const a = src[s + 3];
      if (blend === 0 || a === 255) {
        canvas[d] = src[s];
        canvas[d + 1] = src[s + 1];
        canvas[d + 2] = src[s + 2];
        canvas[d + 3] = a;
      } else if (a !== 0) {
        // Porter-Duff "over" on straight alpha.
        const da = canvas[d + 3];
        const outA = a + (da * (255 - a)) / 255;
        for (let c = 0; c < 3; c++)
          canvas[d + c] = Math.round((src[s + c] * a + (canvas[d + c] * da * (255 - a)) / 255) / outA);
        canvas[d + 3] = Math.round(outA);
      }
    }
  }
}

function clearRect(canvas: Buffer, cw: number, fc: FrameControl): void {
  for (let y = 0; y < fc.height; y++)
    canvas.fill(0, ((fc.y + y) * cw + fc.x) * 4, ((fc.y + y) * cw + fc.x + fc.width) * 4);
}
