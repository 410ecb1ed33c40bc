/**
 * The bare fastify + sharp peer of `bench/proxy.ts`: the same decode → resize → encode as the bare sharp loop behind
 * one fastify route, with none of the proxy's request logic (no store, signing, detection, limits, cache index). Each
 * result is kept in a Map, so asking for a URL again measures a bare fastify answering from memory.
 * GET /:name?w=&f=&q= reads PEER_DIR/<name>. Prints one JSON line with its URL once listening.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import Fastify from 'fastify';
import sharp, { type Sharp } from 'sharp';

const dir = process.env.PEER_DIR ?? '.';
const avifEffort = Number(process.env.PEER_AVIF_EFFORT ?? 4);
const TYPES: Record<string, string> = { jpeg: 'image/jpeg', webp: 'image/webp', avif: 'image/avif', png: 'image/png' };
const memo = new Map<string, Buffer>();

function encode(img: Sharp, format: string, q: number | undefined): Sharp {
  if (format === 'jpeg') return img.jpeg({ quality: q, chromaSubsampling: '4:2:0' });
  if (format === 'webp') return img.webp({ quality: q, effort: 4 });
  if (format === 'avif') return img.avif({ quality: q, effort: avifEffort });
  return img.png({ compressionLevel: 6, adaptiveFiltering: false });
}

const app = Fastify();
app.get('/:name', async (req, reply) => {
  const { name } = req.params as { name: string };
  const { w, f = 'jpeg', q } = req.query as { w?: string; f?: string; q?: string };
  const type = TYPES[f];
  if (!type || name.includes('/') || name.startsWith('.')) return reply.code(400).send('bad request');
  const id = req.url;
  let out = memo.get(id);
  if (!out) {
    const input = await fs.readFile(path.join(dir, name));
    const size = Number(w ?? 512);
    const img = sharp(input, { failOn: 'error', autoOrient: true })
      .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb');
    out = await encode(img, f, q ? Number(q) : undefined).toBuffer();
    memo.set(id, out);
  }
  return reply.header('content-type', type).send(out);
});

await app.listen({ port: 0, host: '127.0.0.1' });
const { port } = app.server.address() as { port: number };
console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
