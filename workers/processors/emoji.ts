import path from 'node:path';
import type { SandboxedJob } from 'bullmq';
import sharp from 'sharp';
import { loadCommonConfig } from '../../common/config.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import type { EmojiResult } from '../emoji-types.ts';
import { renderEmoji } from '../emoji-render.ts';
import { loadWorkersConfig } from '../config.ts';
import { emojiJobData } from '../queues.ts';
import { parseJobData, readSource } from './input.ts';

// Each concurrent job has a child process of its own, so libvips threads per child stay few (threads ≈ cores).
// The child inherits the parent's environment: parse it with the same schemas the parent validated at start-up.
sharp.concurrency(loadWorkersConfig(process.env, loadCommonConfig().RESOUND_DATA_DIR).WORKERS_SHARP_THREADS);

/**
 * Sandboxed processor of the `emoji` queue's per-emoji jobs. Files land at `<out>/<name>/<size>.<ext>`, each through
 * a temp file and rename, and `emoji.json` (with `is_animated`) last: a crash anywhere leaves whole files, and the
 * retry rewrites the same bytes to the same names.
 */
export default async function processEmoji(job: SandboxedJob): Promise<EmojiResult> {
  const data = parseJobData(emojiJobData, job.data);
  const input = await readSource(data.source, data.sha256, data.maxBytes);
  let last = -1;
  const { files, result } = await renderEmoji(input, data, (pct) => {
    const p = Math.min(90, Math.floor(pct * 0.9));
    if (p > last) {
      last = p;
      void job.updateProgress(p);
    }
  });
  const dir = path.join(data.outDir, data.name);
  for (const f of files) await writeFileAtomic(path.join(dir, f.file), f.data);
  await writeFileAtomic(path.join(dir, 'emoji.json'), JSON.stringify(result, null, 2) + '\n');
  await job.updateProgress(100);
  return result;
}
