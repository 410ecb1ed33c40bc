import type { SandboxedJob } from 'bullmq';

/** Does nothing: the benchmark measures what a sandboxed job costs in queue and process overhead alone. */
export default async function noop(job: SandboxedJob): Promise<string | undefined> {
  return job.id;
}
