/**
 * A message request's files, shared by every route that takes them (POST /channels/{id}/messages, interaction
 * callbacks, webhook follow-ups and edits): @discordjs/rest's multipart shape — `payload_json` plus `files[n]` parts —
 * read under the node's upload limits, stored through the media proxy once the body has been validated, and queued
 * for placeholders once the message exists.
 */
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { StoredAttachment } from '../storage/types.ts';
import type { AttachmentUploader } from './attachments.ts';
import { ApiError, formError } from './errors.ts';
import type { PlaceholderJobs } from './placeholder-job.ts';

/** Discord's per-message attachment limit. */
export const MAX_FILES = 10;

export interface IncomingFile {
  /** `n` of the `files[n]` part: what `attachments[].id` names. */
  index: number;
  filename: string;
  contentType: string;
  data: Buffer;
}

/** What `attachments[]` may say about a new file. */
export interface FileMeta {
  filename?: string;
  description?: string;
}

export interface UploadDeps {
  uploader?: AttachmentUploader;
  placeholders?: PlaceholderJobs;
  maxUploadBytes: number;
}

/** A request's files, not yet stored (validation comes first, so a refused body stores nothing). */
export class Upload {
  constructor(
    private readonly deps: UploadDeps,
    readonly files: IncomingFile[],
  ) {}

  /** Stores the files under the channel, in part order; 50001 when this node has no media service. */
  async store(channelId: string, meta: ReadonlyMap<number, FileMeta> = new Map()): Promise<StoredAttachment[]> {
    if (this.files.length === 0) return [];
    const uploader = this.deps.uploader;
    if (!uploader) throw new ApiError('UPLOADS_UNAVAILABLE');
    const stored: StoredAttachment[] = [];
    for (const f of this.files) {
      const m = meta.get(f.index);
      const a = await uploader.upload(channelId, f.index, m?.filename ?? f.filename, f.data, f.contentType);
      stored.push(m?.description ? { ...a, description: m.description } : a);
    }
    return stored;
  }

  /** Queues the placeholders of `attachments` (what `store` returned) now that their message is stored. */
  placeholders(channelId: string, messageId: string, attachments: StoredAttachment[]): void {
    if (attachments.length === 0) return;
    this.deps.placeholders?.enqueue(
      channelId,
      messageId,
      attachments,
      this.files.map((f) => f.data),
    );
  }
}

/** The body of a request that may carry files: JSON (no files), or multipart with `payload_json` and `files[n]`. */
export async function readMessageRequest(
  req: FastifyRequest,
  deps: UploadDeps,
): Promise<{ payload: unknown; upload: Upload }> {
  if (!req.isMultipart()) return { payload: req.body, upload: new Upload(deps, []) };
  const { payload, files } = await readMultipart(req, deps.maxUploadBytes);
  return { payload, upload: new Upload(deps, files) };
}

async function readMultipart(
  req: FastifyRequest,
  maxBytes: number,
): Promise<{ payload: unknown; files: IncomingFile[] }> {
  let payload: unknown = {};
  const files: IncomingFile[] = [];
  let total = 0;
  try {
    for await (const part of req.parts({ limits: { fileSize: maxBytes, files: MAX_FILES } })) {
      if (part.type === 'file') {
        const m = /^files\[(\d+)\]$/.exec(part.fieldname) ?? /^file(\d*)$/.exec(part.fieldname);
        const data = await (part as MultipartFile).toBuffer();
        total += data.length;
        if (total > maxBytes) throw new ApiError('TOO_LARGE');
        files.push({
          index: Number(m?.[1] || files.length),
          filename: part.filename || 'file',
          contentType: part.mimetype,
          data,
        });
      } else if (part.fieldname === 'payload_json') {
        try {
          payload = JSON.parse(String(part.value));
        } catch {
          throw new ApiError('INVALID_JSON');
        }
      }
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_FILES_LIMIT') throw new ApiError('TOO_LARGE');
    throw formError(['files'], 'BASE_TYPE_BAD_TYPE', `malformed multipart body: ${(err as Error).message}`);
  }
  return { payload, files };
}
