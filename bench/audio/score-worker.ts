import { parentPort } from 'node:worker_threads';
import { scoreJob, type ScoreJob } from './scorer.ts';

/** Worker-thread entry for WorkerScorer: one ScoreJob in, one ScoreOutcome out. */
parentPort?.on('message', (job: ScoreJob) => {
  scoreJob(job).then(
    (o) => parentPort?.postMessage(o),
    (e: unknown) => {
      throw e instanceof Error ? e : new Error(String(e));
    },
  );
});
