/**
 * Messages an application sends through an interaction (responses, follow-ups, `@original` edits): stored in channel
 * history like any message, or — ephemeral — only in the interaction state for the token's lifetime; each create,
 * edit and delete reaches the channel's gateway sessions (or only the invoking user's, when ephemeral) on the bus.
 */
import type { DispatchBus } from '../gateway/events.ts';
import { Intent } from '../gateway/events.ts';
import { ApiError } from '../rest/errors.ts';
import { memberJson, messageJson, userJson } from '../rest/serialize.ts';
import type { JsonObject, Storage, StoredAttachment, StoredMessage } from '../storage/types.ts';
import type { AttachmentChange } from './attachments.ts';
import { MessageFlag, type EditMessage, type ResponseMessage } from './message-body.ts';
import type { InteractionRecord, InteractionState, InteractionTrigger } from './state.ts';

/** Discord message types for interaction responses. */
const CHAT_INPUT_COMMAND = 20;
const CONTEXT_MENU_COMMAND = 23;

export interface AppMessageDeps {
  storage: Storage;
  state: InteractionState;
  bus: DispatchBus;
  newId(): string;
}

export class AppMessages {
  constructor(private readonly d: AppMessageDeps) {}

  /**
   * A new message answering `rec` (callback 4/5 or a follow-up); `loading` marks a deferred "thinking" message.
   * `attachments` are already stored by the media proxy. `id` is minted by the caller when it needs it before the
   * message exists (the `@original` reference).
   */
  async create(
    rec: InteractionRecord,
    body: ResponseMessage,
    loading = false,
    attachments: StoredAttachment[] = [],
    id = this.d.newId(),
  ): Promise<StoredMessage> {
    const flags = (body.flags ?? 0) | (loading ? MessageFlag.LOADING : 0);
    const ephemeral = (flags & MessageFlag.EPHEMERAL) !== 0;
    const m: StoredMessage = {
      id,
      channelId: rec.channelId,
      guildId: rec.guildId,
      authorId: rec.botUserId,
      content: body.content ?? '',
      type: rec.type === 2 ? (rec.commandType === 1 ? CHAT_INPUT_COMMAND : CONTEXT_MENU_COMMAND) : 0,
      flags,
      tts: body.tts ?? false,
      pinned: false,
      mentionEveryone: false,
      mentionUserIds: [],
      mentionRoleIds: [],
      attachments,
      embeds: (body.embeds ?? []) as JsonObject[],
      reference: null,
      editedAt: null,
      components: (body.components ?? []) as unknown as JsonObject[],
      interactionMetadata: await this.metadata(rec),
      applicationId: rec.applicationId,
    };
    if (!loading && !m.content && !m.embeds.length && !m.components?.length && !attachments.length)
      throw new ApiError('EMPTY_MESSAGE');
    if (ephemeral) await this.d.state.putEphemeral(m);
    else await this.d.storage.createMessage(m);
    await this.publish('MESSAGE_CREATE', rec, m);
    return m;
  }

  /** A message this interaction may touch: one the application sent in its channel, or the component's message. */
  async get(rec: InteractionRecord, messageId: string): Promise<StoredMessage> {
    const m = (await this.d.state.ephemeral(messageId)) ?? (await this.d.storage.getMessage(rec.channelId, messageId));
    if (!m || m.channelId !== rec.channelId) throw new ApiError('UNKNOWN_MESSAGE');
    if (m.applicationId !== rec.applicationId && m.authorId !== rec.botUserId) throw new ApiError('UNKNOWN_MESSAGE');
    return m;
  }

  /** Edits the message; `files` (new attachments, the kept ones) replaces its attachments when given. */
  async edit(
    rec: InteractionRecord,
    messageId: string,
    body: EditMessage,
    files?: AttachmentChange,
  ): Promise<StoredMessage> {
    const m = await this.get(rec, messageId);
    const attachments = files ? [...(files.keep ?? m.attachments), ...files.added] : m.attachments;
    const next: StoredMessage = {
      ...m,
      attachments,
      ...(body.content !== undefined ? { content: body.content ?? '' } : {}),
      ...(body.embeds !== undefined ? { embeds: (body.embeds ?? []) as JsonObject[] } : {}),
      ...(body.components !== undefined ? { components: (body.components ?? []) as unknown as JsonObject[] } : {}),
      // An edit ends the "thinking" state of a deferred response; the ephemeral bit never changes after creation.
      flags: m.flags & ~MessageFlag.LOADING,
      editedAt: Date.now(),
    };
    if (next.flags & MessageFlag.EPHEMERAL) await this.d.state.putEphemeral(next);
    else {
      const stored = await this.d.storage.editMessage(m.channelId, m.id, {
        content: next.content,
        embeds: next.embeds,
        components: next.components ?? [],
        flags: next.flags,
        editedAt: next.editedAt,
        ...(files ? { attachments } : {}),
      });
      if (!stored) throw new ApiError('UNKNOWN_MESSAGE');
    }
    await this.publish('MESSAGE_UPDATE', rec, next);
    return next;
  }

  async delete(rec: InteractionRecord, messageId: string): Promise<void> {
    const m = await this.get(rec, messageId);
    const ephemeral = (m.flags & MessageFlag.EPHEMERAL) !== 0;
    const gone = ephemeral
      ? await this.d.state.dropEphemeral(m.id)
      : await this.d.storage.deleteMessage(m.channelId, m.id);
    if (!gone) throw new ApiError('UNKNOWN_MESSAGE');
    await this.d.bus.publish({
      t: 'MESSAGE_DELETE',
      d: { id: m.id, channel_id: m.channelId, guild_id: m.guildId },
      guildId: m.guildId,
      intent: Intent.GUILD_MESSAGES,
      ...(ephemeral ? { userIds: [rec.userId] } : {}),
    });
  }

  /** The Discord JSON of a message with its author. */
  async json(m: StoredMessage) {
    return messageJson(m, await this.d.storage.getUser(m.authorId));
  }

  private async publish(t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', rec: InteractionRecord, m: StoredMessage) {
    const [author, member] = await Promise.all([
      this.d.storage.getUser(m.authorId),
      m.guildId ? this.d.storage.getMember(m.guildId, m.authorId) : null,
    ]);
    const { user: _user, ...partialMember } = member ? memberJson(member, null) : { user: undefined };
    const ephemeral = (m.flags & MessageFlag.EPHEMERAL) !== 0;
    await this.d.bus.publish({
      t,
      d: { ...messageJson(m, author), ...(member ? { member: partialMember } : {}) },
      guildId: m.guildId,
      intent: Intent.GUILD_MESSAGES,
      ...(ephemeral ? { userIds: [rec.userId] } : {}),
    });
  }

  private async metadata(rec: InteractionRecord): Promise<JsonObject> {
    const user = await this.d.storage.getUser(rec.userId);
    const of = (r: InteractionTrigger): JsonObject => ({
      id: r.id,
      type: r.type,
      user: user ? (userJson(user) as unknown as JsonObject) : { id: rec.userId },
      authorizing_integration_owners: { '0': rec.guildId },
      ...(r.type === 2 ? { name: r.commandName ?? '', command_type: r.commandType ?? 1 } : {}),
      ...(r.type === 3 && r.messageId ? { interacted_message_id: r.messageId } : {}),
    });
    // A modal submit names the command or component interaction that opened the modal, as Discord's metadata does.
    return { ...of(rec), ...(rec.trigger ? { triggering_interaction_metadata: of(rec.trigger) } : {}) };
  }
}
