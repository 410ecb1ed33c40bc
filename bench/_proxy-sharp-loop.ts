/**
 * Child program of `bench/proxy.ts`, the limit: the same decode → resize → encode as the proxy, in a plain loop with
 * the same concurrency and no server. Input from env (LOOP_FILES JSON array, LOOP_FORMAT, LOOP_QUALITY,
 * LOOP_AVIF_EFFORT, LOOP_CONC); prints one JSON line `{lat, wall, rssKb}` (its own peak RSS).
 */
import fs from 'node:fs';
import sharp, { type Sharp } from 'sharp';

const files = JSON.parse(process.env.LOOP_FILES ?? '[]') as string[];
const format = process.env.LOOP_FORMAT;
const q = process.env.LOOP_QUALITY ? Number(process.env.LOOP_QUALITY) : undefined;
const avifEffort = Number(process.env.LOOP_AVIF_EFFORT);
const concurrency = Number(process.env.LOOP_CONC ?? 1);

function encode(img: Sharp): Sharp {
  if (format === 'jpeg') return img.jpeg({ quality: q, chromaSubsampling: '4:2:0' });
  if (format === 'webp') return img.webp({ quality: q, effort: 4 });
  if (format === 'avif') return img.avif({ quality: q, effort: avifEffort });
  return img.png({ compressionLevel: 6, adaptiveFiltering: false });
}

const lat: number[] = [];
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < files.length) {
      const f = files[next++];
      const s = performance.now();
      const buf = await fs.promises.readFile(f);
      const resized = sharp(buf, { failOn: 'error', autoOrient: true })
        .resize({ width: 512, height: 512, fit: 'inside', withoutEnlargement: true })
        .toColourspace('srgb');
      await encode(resized).toBuffer();
      lat.push(performance.now() - s);
    }
  }),
);
const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
console.log(JSON.stringify({ lat, wall: (performance.now() - t0) / 1000, rssKb: Number(m?.[1] ?? NaN) }));
