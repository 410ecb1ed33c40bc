/**
 * `attachments[]` of an interaction response, follow-up or edit, as discord.js sends it: `{id, filename?,
 * description?}` where a new file's `id` is the `n` of its `files[n]` part, and — on an edit — an existing
 * attachment's id keeps it (those not listed are removed). An id naming neither is refused before anything is
 * stored or acknowledged.
 */
import { formError } from '../rest/errors.ts';
import type { FileMeta, IncomingFile, Upload } from '../rest/uploads.ts';
import type { StoredAttachment, StoredMessage } from '../storage/types.ts';
import type { AppMessages } from './app-messages.ts';
import { MessageFlag } from './message-body.ts';
import type { InteractionRecord } from './state.ts';

type Refs = Array<Record<string, unknown>> | null | undefined;

export interface AttachmentPlan {
  /** Filename/description overrides for new files, by part index. */
  meta: Map<number, FileMeta>;
  /** Existing attachments the message keeps; null when the body left `attachments` out (keep them all). */
  keep: StoredAttachment[] | null;
}

/** A message's attachments after a response: the kept ones (all, when `keep` is null) then the new ones. */
export interface AttachmentChange {
  keep: StoredAttachment[] | null;
  added: StoredAttachment[];
}

/** Checks `refs` against the request's parts and (on an edit) the message's current attachments. */
export function planAttachments(
  refs: Refs,
  files: readonly IncomingFile[],
  existing: readonly StoredAttachment[] = [],
  at: Array<string | number> = [],
): AttachmentPlan {
  const meta = new Map<number, FileMeta>();
  if (refs === undefined) return { meta, keep: null };
  const parts = new Set(files.map((f) => f.index));
  const keep: StoredAttachment[] = [];
  (refs ?? []).forEach((ref, i) => {
    const id = typeof ref.id === 'number' || typeof ref.id === 'string' ? String(ref.id) : undefined;
    const kept = id === undefined ? undefined : existing.find((a) => a.id === id);
    if (kept) {
      keep.push(kept);
      return;
    }
    // A part index is a small decimal; an existing attachment's id is a snowflake, so the two never collide.
    if (id === undefined || !/^\d{1,3}$/.test(id) || !parts.has(Number(id)))
      throw formError(
        [...at, 'attachments', i, 'id'],
        'ATTACHMENT_NOT_FOUND',
        `Unknown attachment id ${String(ref.id)}`,
      );
    meta.set(Number(id), {
      ...(typeof ref.filename === 'string' && ref.filename ? { filename: ref.filename } : {}),
      ...(typeof ref.description === 'string' && ref.description ? { description: ref.description } : {}),
    });
  });
  return { meta, keep };
}

/**
 * Checks `attachments[]` against the request's parts (and, when it lists kept ones, the edited message's current
 * attachments), then stores the new files under the interaction's channel. Null when the request brought neither
 * files nor `attachments`. `at` prefixes the refused field's path (a callback's message is under `data`).
 */
export async function storeFiles(
  messages: AppMessages,
  rec: InteractionRecord,
  refs: Refs,
  upload: Upload | undefined,
  editing?: string,
  at: Array<string | number> = [],
): Promise<AttachmentChange | null> {
  const parts = upload?.files ?? [];
  if (refs === undefined && parts.length === 0) return null;
  const existing = editing && refs?.length ? (await messages.get(rec, editing)).attachments : [];
  const plan = planAttachments(refs, parts, existing, at);
  const added = upload ? await upload.store(rec.channelId, plan.meta) : [];
  return { keep: editing ? plan.keep : null, added };
}

/** Placeholders for the files a stored message just got (ephemeral messages live outside storage: none). */
export function queuePlaceholders(upload: Upload | undefined, m: StoredMessage, files: AttachmentChange | null): void {
  if (upload && files?.added.length && !(m.flags & MessageFlag.EPHEMERAL))
    upload.placeholders(m.channelId, m.id, files.added);
}
