import fs from 'node:fs/promises';
import path from 'node:path';
import type { EmojiPackInput } from './producer.ts';
import { sha256Of } from './queues.ts';

export const EMOJI_EXTENSIONS = ['.png', '.apng', '.gif', '.webp', '.jpg', '.jpeg', '.avif'];

/** Discord names: letters, digits, underscore, 2–32 long. File names are folded into that shape, never refused. */
export function emojiNameFor(file: string): string {
  let n = path
    .basename(file, path.extname(file))
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (n.length < 2) n = `emoji_${n}`.replace(/_+$/, '') || 'emoji';
  if (n.length < 2) n = 'emoji';
  return n.slice(0, 32);
}

export interface ScanOptions {
  outDir: string;
  sizes: number[];
  maxBytes: number;
}

/**
 * Lists a pack folder into flow input: one emoji per image file (sorted, so the same folder is always the same
 * pack), each hashed so its job id follows its content. Oversized or corrupt files are still enqueued: their own job
 * fails with the reason, which the summary reports, rather than the whole pack being refused.
 */
export async function scanPack(
  dir: string,
  opts: ScanOptions,
): Promise<EmojiPackInput & { /** Files left out because their extension is not an image's. */ skipped: string[] }> {
  const root = path.resolve(dir);
  const files = (await fs.readdir(root, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  const isImage = (name: string) => EMOJI_EXTENSIONS.includes(path.extname(name).toLowerCase());
  const entries = files.filter(isImage).sort();
  const skipped = files.filter((f) => !isImage(f)).sort();
  if (!entries.length) throw new Error(`no emoji images (${EMOJI_EXTENSIONS.join(' ')}) in ${root}`);
  const outDir = path.resolve(opts.outDir);
  const used = new Set<string>();
  const emojis = [];
  for (const name of entries) {
    const source = path.join(root, name);
    let base = emojiNameFor(name);
    for (let i = 2; used.has(base.toLowerCase()); i++) base = `${emojiNameFor(name).slice(0, 28)}_${i}`;
    used.add(base.toLowerCase());
    emojis.push({
      name: base,
      source,
      sha256: sha256Of(await fs.readFile(source)),
      outDir,
      sizes: opts.sizes,
      maxBytes: opts.maxBytes,
    });
  }
  return { pack: { dir: root, outDir, total: emojis.length, sizes: opts.sizes }, emojis, skipped };
}
