import fs from 'node:fs/promises';
import type { z } from 'zod';
import { JobInputError } from '../errors.ts';
import { sha256Of } from '../queues.ts';

/** Re-validates job data inside the processor: a job added by a foreign producer fails cleanly instead of crashing. */
export function parseJobData<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const r = schema.safeParse(data);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new JobInputError(
      'invalid_data',
      `job data rejected at ${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`,
    );
  }
  return r.data;
}

/**
 * Reads a job's source file, refusing it when larger than `maxBytes` (checked before reading) or when its content no
 * longer matches the hash the job id was derived from (the file was replaced after enqueueing).
 */
export async function readSource(file: string, sha256: string, maxBytes: number): Promise<Buffer> {
  let size: number;
  try {
    size = (await fs.stat(file)).size;
  } catch {
    throw new JobInputError('source_missing', `source ${file} does not exist or is unreadable`);
  }
  if (size > maxBytes) throw new JobInputError('too_large', `source is ${size} bytes; the limit is ${maxBytes}`);
  const data = await fs.readFile(file);
  if (sha256Of(data) !== sha256)
    throw new JobInputError('source_changed', `source ${file} changed after it was enqueued`);
  return data;
}
