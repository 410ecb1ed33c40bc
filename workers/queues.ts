import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import type { QueueName } from './config.ts';

/**
 * Queue names and the typed data of every job. Data is validated when a job is added (so a bad producer fails at its
 * own call site) and again when a processor receives it (so a foreign producer cannot crash a worker).
 */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256');
const absPath = z
  .string()
  .min(1)
  .refine((p) => path.isAbsolute(p), 'must be an absolute path');
/** Discord emoji names: 2–32 of letters, digits and underscores. */
export const emojiName = z
  .string()
  .regex(/^[A-Za-z0-9_]{2,32}$/, 'emoji names are 2-32 letters, digits or underscores');

export const emojiJobData = z.object({
  name: emojiName,
  source: absPath,
  sha256: sha256Hex,
  outDir: absPath,
  sizes: z.array(z.number().int().min(8).max(4096)).min(1).max(32),
  maxBytes: z.number().int().positive(),
});
export type EmojiJobData = z.infer<typeof emojiJobData>;

export const packJobData = z.object({
  dir: absPath,
  outDir: absPath,
  total: z.number().int().min(1),
  sizes: z.array(z.number().int()).min(1),
});
export type PackJobData = z.infer<typeof packJobData>;

export const audioJobData = z.object({
  source: absPath,
  sha256: sha256Hex,
  /** Written as `<outDir>/<sha256>.<paramsHash>.ogg`; the same input and settings always land on the same file. */
  outDir: absPath,
  input: z.discriminatedUnion('format', [
    z.object({ format: z.literal('wav') }),
    z.object({
      format: z.literal('s16le'),
      sampleRate: z.number().int().min(8000).max(192_000),
      channels: z.number().int().min(1).max(2),
    }),
  ]),
  bitrate: z.number().int().min(6000).max(510_000),
  maxSeconds: z.number().int().positive(),
  /** Largest source file read, checked before reading it. */
  maxBytes: z
    .number()
    .int()
    .positive()
    .default(256 * 1024 * 1024),
  purpose: z.enum(['voice_message', 'soundboard', 'other']).default('other'),
});
/** What producers build; defaults (purpose, maxBytes) are filled in by validation. */
export type AudioJobData = z.input<typeof audioJobData>;

/** One variant to pre-render; the media proxy normalises it exactly as its routes do, so cache keys agree. */
export const prerenderVariant = z.object({
  width: z.number().int().positive().max(4096).optional(),
  height: z.number().int().positive().max(4096).optional(),
  fit: z.enum(['cover', 'contain', 'inside']).optional(),
  format: z.enum(['webp', 'avif', 'png', 'jpeg', 'gif']),
  quality: z.union([z.number().int().min(1).max(100), z.literal('lossless')]).optional(),
  animated: z.boolean().optional(),
});
export const prerenderJobData = z.object({
  /** sha256 of the original in the media proxy's origin store. */
  hash: sha256Hex,
  /** The ref that was uploaded (attachments/<channel>/<id>, …), for logs and the dashboard. */
  ref: z.string().max(512).optional(),
  variants: z.array(prerenderVariant).min(1).max(64),
});
export type PrerenderJobData = z.infer<typeof prerenderJobData>;
export type PrerenderVariant = z.infer<typeof prerenderVariant>;

export const JOB_NAMES = { pack: 'pack', emoji: 'emoji', audio: 'transcode', prerender: 'warm' } as const;

/** Canonical JSON (sorted keys) so equal parameters hash equally whatever order a caller built them in. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Job ids from the queue, the input's content hash and every parameter: adding the same work twice is a no-op in
 * BullMQ, and a retry is the same job, so outputs are never duplicated. BullMQ forbids ':' in custom ids.
 */
export function jobIdFor(queue: QueueName, kind: string, params: unknown): string {
  return `${queue}-${kind}-${createHash('sha256').update(stableJson(params)).digest('hex').slice(0, 40)}`;
}

export function sha256Of(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Where an audio job's Ogg Opus lands: named by input hash and settings, so equal work shares one file. */
export function audioOutputFile(d: AudioJobData): string {
  const params = createHash('sha256')
    .update(stableJson({ input: d.input, bitrate: d.bitrate }))
    .digest('hex')
    .slice(0, 12);
  return path.join(d.outDir, `${d.sha256.slice(0, 32)}-${params}.ogg`);
}
