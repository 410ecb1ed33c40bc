import path from 'node:path';
import { Job, type MinimalQueue } from 'bullmq';
import type { Logger } from '../common/logger.ts';
import { sweepTempFiles, writeFileAtomic } from './atomic-write.ts';
import { quantile, type EmojiResult, type PackFailure, type PackSummary } from './emoji-types.ts';
import { failureCode } from './errors.ts';
import { emojiJobData, packJobData } from './queues.ts';

/**
 * The pack job runs after every child has completed or failed: it gathers their results into the summary (also
 * written as `<out>/pack-summary.json`) and removes temp files left by children that were killed mid-write.
 */
export async function finishPack(job: Job, queue: MinimalQueue, logger: Logger): Promise<PackSummary> {
  const pack = packJobData.parse(job.data);
  const values = Object.values((await job.getChildrenValues()) as Record<string, EmojiResult>);
  const ignored = await job.getIgnoredChildrenFailures();
  const failures: PackFailure[] = [];
  for (const [key, reason] of Object.entries(ignored)) {
    const id = key.slice(key.lastIndexOf(':') + 1);
    const child = await Job.fromId(queue, id);
    const d = emojiJobData.safeParse(child?.data);
    failures.push({
      name: d.success ? d.data.name : id,
      source: d.success ? d.data.source : '',
      code: failureCode(reason),
      reason,
    });
  }
  failures.sort((a, b) => a.name.localeCompare(b.name));
  const reductions = values.map((v) => v.reduction).filter((r) => Number.isFinite(r));
  const summary: PackSummary = {
    dir: pack.dir,
    outDir: pack.outDir,
    total: pack.total,
    completed: values.length,
    failed: failures.length,
    animated: values.filter((v) => v.is_animated).length,
    files: values.reduce((s, v) => s + v.outputs.length, 0),
    bytesIn: values.reduce((s, v) => s + v.bytesIn, 0),
    bytesOut: values.reduce((s, v) => s + v.bytesOut, 0),
    reductionMedian: quantile(reductions, 0.5),
    reductionP95: quantile(reductions, 0.95),
    failures,
  };
  const swept = await sweepTempFiles(pack.outDir);
  if (swept) logger.info({ pack: job.id, swept }, 'removed temp files of interrupted writes');
  await writeFileAtomic(path.join(pack.outDir, 'pack-summary.json'), JSON.stringify(summary, null, 2) + '\n');
  await job.updateProgress({ done: pack.total, failed: failures.length, total: pack.total });
  return summary;
}
