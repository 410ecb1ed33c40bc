/**
 * An interaction's webhook side: once the initial response is in, the application follows up and edits messages with
 * the interaction token for the token's lifetime (Discord's `/webhooks/{application}/{token}` routes).
 */
import { ApiError } from '../rest/errors.ts';
import type { Upload } from '../rest/uploads.ts';
import { parse } from '../rest/validate.ts';
import type { StoredMessage } from '../storage/types.ts';
import type { AppMessages } from './app-messages.ts';
import { queuePlaceholders, storeFiles } from './attachments.ts';
import { CallbackType, MessageFlag, editMessage, responseMessage, type EditMessage } from './message-body.ts';
import type { InteractionRecord, InteractionState } from './state.ts';

export class InteractionWebhooks {
  constructor(
    private readonly state: InteractionState,
    private readonly messages: AppMessages,
    /** Counts a refusal in the interactions metrics and hands it back to throw. */
    private readonly refuse: (err: ApiError) => ApiError,
  ) {}

  /** The webhook token's record (follow-ups and edits); 50027 once the token has expired or never existed. */
  async webhook(applicationId: string, token: string): Promise<InteractionRecord> {
    const rec = await this.state.byToken(token);
    if (!rec || rec.applicationId !== applicationId) throw this.refuse(new ApiError('INVALID_WEBHOOK_TOKEN'));
    const acked = await this.state.acked(rec.id);
    // Follow-ups need the initial response first; an interaction that failed, or an autocomplete, has no webhook.
    if (acked === null || acked === 'expired' || rec.type === 4) throw this.refuse(new ApiError('UNKNOWN_WEBHOOK'));
    return rec;
  }

  async followUp(rec: InteractionRecord, raw: unknown, upload?: Upload): Promise<StoredMessage> {
    const body = parse(responseMessage, raw ?? {});
    const files = await storeFiles(this.messages, rec, body.attachments, upload);
    // Discord: the first follow-up after a deferred response replaces the "thinking" message.
    const orig = await this.state.original(rec.id);
    let m: StoredMessage | null = null;
    if (orig && (await this.state.acked(rec.id)) === String(CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE)) {
      const loading = await this.messages.get(rec, orig.messageId).catch(() => null);
      if (loading && loading.flags & MessageFlag.LOADING)
        m = await this.messages.edit(rec, loading.id, body, files ? { keep: null, added: files.added } : undefined);
    }
    m ??= await this.messages.create(rec, body, false, files?.added);
    queuePlaceholders(upload, m, files);
    return m;
  }

  /** `@original` → the response message (or, for component interactions, the message the component is on). */
  async resolveMessageId(rec: InteractionRecord, messageId: string): Promise<string> {
    if (messageId !== '@original') return messageId;
    const orig = await this.state.original(rec.id);
    if (!orig) throw new ApiError('UNKNOWN_MESSAGE');
    return orig.messageId;
  }

  async editWebhookMessage(
    rec: InteractionRecord,
    messageId: string,
    raw: unknown,
    upload?: Upload,
  ): Promise<StoredMessage> {
    const body: EditMessage = parse(editMessage, raw ?? {});
    const id = await this.resolveMessageId(rec, messageId);
    const files = await storeFiles(this.messages, rec, body.attachments, upload, id);
    const m = await this.messages.edit(rec, id, body, files ?? undefined);
    queuePlaceholders(upload, m, files);
    return m;
  }
}
