import fs from 'node:fs';
import path from 'node:path';
import type { Job } from 'bullmq';
import type { ZodType } from 'zod';
import { JobInputError } from './errors.ts';
import { JOB_NAMES, audioJobData, emojiJobData, packJobData } from './queues.ts';

/** Job data fields that name files or folders (emoji, pack and audio jobs). */
const PATH_FIELDS = ['source', 'outDir', 'dir'] as const;
const SCHEMAS: Record<string, ZodType> = {
  [JOB_NAMES.emoji]: emojiJobData,
  [JOB_NAMES.pack]: packJobData,
  [JOB_NAMES.audio]: audioJobData,
};

/** The real path of `p`, resolving symlinks in whatever part of it exists (outputs may not exist yet). */
function realish(p: string): string {
  let existing = path.resolve(p);
  const rest: string[] = [];
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    rest.unshift(path.basename(existing));
    existing = parent;
  }
  return path.join(fs.realpathSync(existing), ...rest);
}

function inside(p: string, root: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * A check run before any job reaches a processor: every path its data names must lie, symlinks resolved, under one
 * of `roots`, so whoever can add jobs (a producer, a Redis client) cannot make a worker read or write elsewhere.
 */
export function pathGuard(roots: readonly string[]): (job: Job) => void {
  const real = roots.map(realish);
  return (job) => {
    // Malformed data is left to the processor, which refuses it with invalid_data.
    if (SCHEMAS[job.name] && !SCHEMAS[job.name].safeParse(job.data).success) return;
    const data = (job.data ?? {}) as Record<string, unknown>;
    for (const field of PATH_FIELDS) {
      const value = data[field];
      if (typeof value !== 'string') continue;
      if (!real.some((root) => inside(realish(value), root)))
        throw new JobInputError(
          'path_not_allowed',
          `${field} ${value} is outside the allowed folders (${roots.join(', ')}); see WORKERS_PATH_ROOTS`,
        );
    }
  };
}
