import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { createRng } from '../common/rng.ts';

/** Deterministic (common/rng.ts) so a sample pack is byte-identical across runs. */
const rng = createRng;

function frameSvg(side: number, r: () => number, phase: number): string {
  const hue = Math.floor(r() * 360);
  const shapes: string[] = [];
  for (let i = 0; i < 4; i++) {
    const cx = (side / 2 + Math.cos(phase + i) * side * 0.25 * r()).toFixed(1);
    const cy = (side / 2 + Math.sin(phase + i * 2) * side * 0.25).toFixed(1);
    const rad = (side * (0.12 + r() * 0.2)).toFixed(1);
    shapes.push(
      `<circle cx="${cx}" cy="${cy}" r="${rad}" fill="hsl(${(hue + i * 70) % 360},80%,${45 + i * 8}%)" fill-opacity="0.85"/>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}">
  <defs><radialGradient id="g"><stop offset="0" stop-color="hsl(${hue},90%,70%)"/><stop offset="1" stop-color="hsl(${(hue + 40) % 360},70%,35%)"/></radialGradient></defs>
  <rect x="${side * 0.06}" y="${side * 0.06}" width="${side * 0.88}" height="${side * 0.88}" rx="${side * 0.2}" fill="url(#g)"/>${shapes.join('')}</svg>`;
}

export async function staticEmoji(seed: number, side = 128): Promise<Buffer> {
  return sharp(Buffer.from(frameSvg(side, rng(seed), seed)))
    .png()
    .toBuffer();
}

export async function animatedEmoji(seed: number, side = 112, frames = 10): Promise<Buffer> {
  const raws: Buffer[] = [];
  for (let f = 0; f < frames; f++) {
    raws.push(
      await sharp(Buffer.from(frameSvg(side, rng(seed), (f / frames) * Math.PI * 2)))
        .ensureAlpha()
        .raw()
        .toBuffer(),
    );
  }
  return sharp(Buffer.concat(raws), { raw: { width: side, height: side * frames, channels: 4, pageHeight: side } })
    .gif({ loop: 0, delay: new Array(frames).fill(60) })
    .toBuffer();
}

/** Writes `count` generated emojis (every other one an animated GIF) into `dir`; returns their paths. */
export async function writeSamplePack(
  dir: string,
  count: number,
  opts: { seed?: number; staticSide?: number; animatedSide?: number; frames?: number } = {},
): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const seed = (opts.seed ?? 1) * 100_003 + i;
    const animated = i % 2 === 1;
    const file = path.join(
      dir,
      `${animated ? 'anim' : 'still'}_${String(i).padStart(4, '0')}.${animated ? 'gif' : 'png'}`,
    );
    await fs.writeFile(
      file,
      animated ? await animatedEmoji(seed, opts.animatedSide, opts.frames) : await staticEmoji(seed, opts.staticSide),
    );
    files.push(file);
  }
  return files;
}
