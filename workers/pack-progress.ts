import { Job, type Queue, type Worker } from 'bullmq';
import type { PackProgress, PackSummary } from './emoji-types.ts';

async function countsOf(parent: Job): Promise<PackProgress> {
  const c = await parent.getDependenciesCount();
  const failed = (c.failed ?? 0) + (c.ignored ?? 0);
  const total = Number((parent.data as { total?: number }).total ?? 0);
  return { done: (c.processed ?? 0) + failed, failed, total };
}

/**
 * After each child finishes, its worker writes the pack's done/total onto the pack job so the dashboard shows it.
 * Counts are re-read from Redis each time, so concurrent children can only leave the figure briefly behind.
 */
export async function updatePackProgress(worker: Worker, child: Job): Promise<void> {
  if (!child.parent?.id) return;
  const parent = await Job.fromId(worker, child.parent.id);
  if (!parent) return;
  await parent.updateProgress({ ...(await countsOf(parent)) });
}

export interface PackStatus extends PackProgress {
  state: string;
  summary?: PackSummary;
  failedReason?: string;
}

/** Where a pack stands, read straight from Redis: what the CLI polls for its progress bars. */
export async function packStatus(queue: Queue, packId: string): Promise<PackStatus | undefined> {
  // State first, then the job: a job read before a state that says "completed" could miss its return value.
  const state = await queue.getJobState(packId);
  const job = await Job.fromId(queue, packId);
  if (!job) return undefined;
  const counts = await countsOf(job);
  return { state, ...counts, summary: job.returnvalue as PackSummary | undefined, failedReason: job.failedReason };
}
