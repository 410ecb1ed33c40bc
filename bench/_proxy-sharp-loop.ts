/**
 * Child program of `bench/proxy.ts`, the limit: the same decode → resize → encode as the proxy, in a plain loop with
 * the same concurrency and no server. Input from env (LOOP_FILES JSON array, LOOP_WARM JSON array and LOOP_WARM_BOXES
 * for an unmeasured warm-up, LOOP_FORMAT, LOOP_QUALITY, LOOP_AVIF_EFFORT, LOOP_CONC); prints one JSON line
 * `{lat, wall, rssKb, ticks}`: latencies, wall seconds, its own peak RSS and the CPU clock ticks the timed loop used.
 */
import fs from 'node:fs';
import sharp, { type Sharp } from 'sharp';

const files = JSON.parse(process.env.LOOP_FILES ?? '[]') as string[];
const warm = JSON.parse(process.env.LOOP_WARM ?? '[]') as string[];
const warmBoxes = JSON.parse(process.env.LOOP_WARM_BOXES ?? '[]') as number[];
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

async function render(file: string, box: number): Promise<void> {
  const buf = await fs.promises.readFile(file);
  const resized = sharp(buf, { failOn: 'error', autoOrient: true })
    .resize({ width: box, height: box, fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb');
  await encode(resized).toBuffer();
}

/** utime + stime of this process in clock ticks (fields 14 and 15 of proc(5)). */
function cpuTicks(): number {
  const st = fs.readFileSync('/proc/self/stat', 'utf8');
  const v = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(v[11]) + Number(v[12]);
}

// Warm-up (not measured): the spare images at the proxy's warm-up sizes, as every server gets.
for (const f of warm) for (const box of warmBoxes) await render(f, box);

const lat: number[] = [];
let next = 0;
const cpu0 = cpuTicks();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < files.length) {
      const f = files[next++];
      const s = performance.now();
      await render(f, 512);
      lat.push(performance.now() - s);
    }
  }),
);
const wall = (performance.now() - t0) / 1000;
const ticks = cpuTicks() - cpu0;
const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
console.log(JSON.stringify({ lat, wall, rssKb: Number(m?.[1] ?? NaN), ticks }));
