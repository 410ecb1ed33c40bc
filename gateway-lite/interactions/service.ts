/**
 * The interactions service: a user's invocation becomes an interaction delivered to the application — as a signed
 * HTTP POST when it has an interactions endpoint URL, else as INTERACTION_CREATE to its bot's gateway sessions — and
 * the application answers through the callback (or, for HTTP apps, the response body) within the acknowledgement
 * deadline, then through its webhook token for the token's lifetime. The invoking user's sessions hear the outcome
 * (INTERACTION_SUCCESS / INTERACTION_FAILURE, as Discord's client does), an autocomplete's choices
 * (APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE) and a modal to fill in (INTERACTION_MODAL_CREATE).
 */
import type { Logger } from 'pino';
import { RateLimitedLog } from '../../common/logger.ts';
import type { DispatchBus, DispatchName } from '../gateway/events.ts';
import { ApiError, formError } from '../rest/errors.ts';
import type { Upload } from '../rest/uploads.ts';
import { parse } from '../rest/validate.ts';
import type { Storage, StoredApplication, StoredMessage, StoredUser } from '../storage/types.ts';
import { AppMessages } from './app-messages.ts';
import { queuePlaceholders, storeFiles, type AttachmentChange } from './attachments.ts';
import { parseChoices, type Choice } from './autocomplete.ts';
import type { EndpointCaller } from './endpoint.ts';
import { invokeBody, type InvokeBody } from './invoke-body.ts';
import { prepareInvocation, type Prepared } from './invoke.ts';
import { MessageFlag, callbackAllowed, callbackBody, editMessage, responseMessage } from './message-body.ts';
import type { InteractionMetrics } from './metrics.ts';
import { modalCreateEvent, modalData } from './modals.ts';
import { OutboundError } from './outbound.ts';
import type { InteractionRecord, InteractionState } from './state.ts';
import { InteractionWebhooks } from './webhooks.ts';

export interface InteractionsOptions {
  storage: Storage;
  state: InteractionState;
  bus: DispatchBus;
  endpoints: EndpointCaller;
  metrics: InteractionMetrics;
  logger: Logger;
  newId(): string;
  /** Acknowledgement deadline (Discord: 3 s). */
  ackMs: number;
}

/** How an invocation ended; an autocomplete's acknowledgement carries the application's choices. */
export type Outcome = { outcome: 'acknowledged'; choices?: Choice[] } | { outcome: 'failed'; reason: string };

export interface Invocation {
  id: string;
  nonce?: string;
  /** Settles when the interaction is acknowledged or has failed. */
  done: Promise<Outcome>;
}

interface Pending {
  rec: InteractionRecord;
  delivery: 'gateway' | 'http';
  started: bigint;
  timer: NodeJS.Timeout;
  /** An HTTP delivery still waiting for the endpoint's answer (the deadline then blames the endpoint). */
  awaitingEndpoint: boolean;
  settle(o: Outcome): void;
}

export class Interactions {
  readonly messages: AppMessages;
  /** Follow-ups and edits through an interaction's webhook token. */
  readonly webhooks: InteractionWebhooks;
  private readonly pending = new Map<string, Pending>();
  private readonly log: RateLimitedLog;

  constructor(private readonly o: InteractionsOptions) {
    this.messages = new AppMessages(o);
    this.webhooks = new InteractionWebhooks(o.state, this.messages, (err) => this.refuse(err));
    this.log = new RateLimitedLog(o.logger);
  }

  /** POST /interactions by a user. Resolves once the interaction is on its way; `done` tells how it ended. */
  async invoke(user: StoredUser, raw: unknown): Promise<Invocation> {
    if (user.bot) throw this.refuse(new ApiError('BOTS_FORBIDDEN'));
    let p: Prepared;
    let body: InvokeBody;
    try {
      body = parse(invokeBody, raw);
      p = await prepareInvocation(this.o.storage, user, body, {
        findMessage: (c, m) => this.findMessage(c, m),
        findModal: (app, u, customId) => this.o.state.modal(app, u, customId),
      });
    } catch (err) {
      // Refused invocations (50013 missing permissions, 50035, 10062 unknown modal, …) count with the callbacks'.
      throw err instanceof ApiError ? this.refuse(err) : err;
    }
    const id = this.o.newId();
    const { token, tokenHash } = this.o.state.mintToken(id);
    const rec: InteractionRecord = {
      id,
      applicationId: p.app.id,
      botUserId: p.app.botUserId,
      tokenHash,
      type: body.type,
      channelId: body.channel_id,
      guildId: body.guild_id,
      userId: user.id,
      createdAt: Date.now(),
      ...(body.nonce ? { nonce: body.nonce } : {}),
      ...(p.command ? { commandType: p.command.type, commandId: p.command.id, commandName: p.command.name } : {}),
      ...(p.message ? { messageId: p.message.id } : {}),
      ...(p.focusedType !== undefined ? { focusedType: p.focusedType } : {}),
      ...(p.modal ? { modalCustomId: p.modal.modal.custom_id, trigger: p.modal.trigger } : {}),
    };
    await this.o.state.create(rec);
    const interaction = { ...p.base, id, token };
    const delivery = p.app.interactionsEndpointUrl ? 'http' : 'gateway';
    const done = new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => void this.deadline(id), this.o.ackMs);
      this.pending.set(id, {
        rec,
        delivery,
        started: process.hrtime.bigint(),
        timer,
        awaitingEndpoint: delivery === 'http',
        settle: resolve,
      });
    });
    if (p.app.interactionsEndpointUrl) void this.deliverHttp(rec, p.app, p.app.interactionsEndpointUrl, interaction);
    else
      await this.o.bus.publish({
        t: 'INTERACTION_CREATE',
        d: interaction,
        guildId: rec.guildId,
        intent: 0,
        userIds: [rec.botUserId],
      });
    return { id, nonce: body.nonce, done };
  }

  /**
   * POST /interactions/{id}/{token}/callback. Returns the callback response object when `withResponse`. `upload`
   * holds a multipart request's files (they attach to a type 4 or 7 response).
   */
  async callback(
    id: string,
    token: string,
    raw: unknown,
    withResponse: boolean,
    upload?: Upload,
  ): Promise<object | null> {
    // An interaction invoked on this node and still waiting is answered from memory (the record never changes after
    // `create`); one from another node, or past its deadline, is read from Redis.
    const local = this.pending.get(id)?.rec;
    const rec = local && this.o.state.holds(local, token) ? local : await this.o.state.byToken(token, id);
    if (!rec) throw this.refuse(new ApiError('UNKNOWN_INTERACTION'));
    return this.respond(rec, raw, withResponse, upload);
  }

  /** Discord's check before an interactions endpoint URL is saved; a refusal is the 50035 Discord answers. */
  async verifyEndpoint(app: StoredApplication, url: string): Promise<void> {
    const id = this.o.newId();
    const why = await this.o.endpoints.verify(app, url, id, this.o.state.mintToken(id).token);
    this.o.metrics.endpointChecks.inc({ result: why ? 'refused' : 'saved' });
    if (why)
      throw formError(
        ['interactions_endpoint_url'],
        'APPLICATION_INTERACTIONS_ENDPOINT_URL_INVALID',
        `The specified interactions endpoint url could not be verified: ${why}.`,
      );
  }

  /** Stops the deadline timers (shutdown); pending invocations settle as failed. */
  close(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.settle({ outcome: 'failed', reason: 'shutdown' });
      this.pending.delete(id);
    }
  }

  private async respond(
    rec: InteractionRecord,
    raw: unknown,
    withResponse: boolean,
    upload?: Upload,
  ): Promise<object | null> {
    // Validate before acknowledging: a malformed answer must not use up the one acknowledgement.
    const refusing = <T>(check: () => T): T => {
      try {
        return check();
      } catch (err) {
        throw err instanceof ApiError ? this.refuse(err) : err;
      }
    };
    const body = refusing(() => parse(callbackBody, raw));
    const t = body.type;
    if (!callbackAllowed(rec.type, rec.messageId !== undefined, t))
      throw this.refuse(
        formError(['type'], 'INTERACTION_RESPONSE_TYPE_INVALID', 'Interaction response type is invalid'),
      );
    const msg = t === 4 || t === 5 ? refusing(() => parse(responseMessage, body.data ?? {})) : null;
    const edit = t === 7 ? refusing(() => parse(editMessage, body.data ?? {})) : null;
    const choices = t === 8 ? refusing(() => parseChoices(body.data, rec.focusedType ?? 3)) : null;
    const modal = t === 9 ? refusing(() => parse(modalData, body.data ?? {})) : null;
    if (t === 4 && msg && !msg.content && !msg.embeds?.length && !msg.components?.length && !upload?.files.length)
      throw this.refuse(new ApiError('EMPTY_MESSAGE'));
    // Files are stored before the acknowledgement, so a refused file does not use it up.
    let files: AttachmentChange | null = null;
    try {
      if (t === 4) files = await storeFiles(this.messages, rec, msg?.attachments, upload, undefined, ['data']);
      else if (t === 7)
        files = await storeFiles(this.messages, rec, edit?.attachments, upload, rec.messageId, ['data']);
    } catch (err) {
      throw err instanceof ApiError ? this.refuse(err) : err;
    }
    // A new response message's id is minted now, so its `@original` reference goes with the acknowledgement.
    const messageId = msg ? this.o.newId() : undefined;
    const original = messageId
      ? { messageId, ephemeral: ((msg?.flags ?? 0) & MessageFlag.EPHEMERAL) !== 0 }
      : undefined;
    const won = await this.o.state.ack(rec.id, t, original);
    if (won === 'expired') throw this.refuse(new ApiError('UNKNOWN_INTERACTION'));
    if (won !== 'ok') throw this.refuse(new ApiError('ALREADY_ACKNOWLEDGED'));

    if (choices) {
      await this.tellUser(rec, 'APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE', { nonce: rec.nonce ?? null, choices });
      await this.settled(rec, { outcome: 'acknowledged', choices });
      return withResponse ? { interaction: { id: rec.id, type: rec.type }, resource: { type: t } } : null;
    }
    if (modal) {
      const shown = {
        id: rec.id,
        applicationId: rec.applicationId,
        userId: rec.userId,
        guildId: rec.guildId,
        channelId: rec.channelId,
        ...(rec.messageId ? { messageId: rec.messageId } : {}),
        trigger: {
          id: rec.id,
          type: rec.type,
          commandName: rec.commandName,
          commandType: rec.commandType,
          messageId: rec.messageId,
        },
        modal,
      };
      await this.o.state.putModal(shown);
      const app = await this.o.storage.apps.getApplication(rec.applicationId);
      await this.tellUser(
        rec,
        'INTERACTION_MODAL_CREATE',
        modalCreateEvent(shown, app ?? { name: '' }, rec.nonce ?? null),
      );
      await this.settled(rec, { outcome: 'acknowledged' });
      return withResponse ? { interaction: { id: rec.id, type: rec.type }, resource: { type: t } } : null;
    }

    let message: StoredMessage | null = null;
    if (msg) {
      message = await this.messages.create(rec, msg, t === 5, files?.added, messageId);
    } else if (edit) message = await this.messages.edit(rec, rec.messageId!, edit, files ?? undefined);
    else if (rec.messageId) message = await this.messages.get(rec, rec.messageId);
    if (message) queuePlaceholders(upload, message, files);
    if (message && !original)
      await this.o.state.setOriginal(rec.id, {
        messageId: message.id,
        ephemeral: (message.flags & MessageFlag.EPHEMERAL) !== 0,
      });
    await this.settled(rec, { outcome: 'acknowledged' });
    if (!withResponse) return null;
    return {
      interaction: {
        id: rec.id,
        type: rec.type,
        ...(message
          ? {
              response_message_id: message.id,
              response_message_loading: (message.flags & MessageFlag.LOADING) !== 0,
              response_message_ephemeral: (message.flags & MessageFlag.EPHEMERAL) !== 0,
            }
          : {}),
      },
      resource: { type: t, ...(message ? { message: await this.messages.json(message) } : {}) },
    };
  }

  private async deliverHttp(
    rec: InteractionRecord,
    app: StoredApplication,
    url: string,
    interaction: object,
  ): Promise<void> {
    let res;
    try {
      res = await this.o.endpoints.deliver(app, url, interaction);
      const p = this.pending.get(rec.id);
      if (p) p.awaitingEndpoint = false;
    } catch (err) {
      const kind = err instanceof OutboundError ? err.kind : 'network';
      this.log.warn(
        `endpoint:${kind}`,
        { app: app.id, kind, err: (err as Error).message },
        'interaction delivery failed',
      );
      return this.fail(rec, kind === 'timeout' || kind === 'connect_timeout' ? 'endpoint_timeout' : `endpoint_${kind}`);
    }
    if (res.status < 200 || res.status > 299) {
      this.log.warn('endpoint:status', { app: app.id, status: res.status }, 'interaction endpoint answered an error');
      return this.fail(rec, 'endpoint_status');
    }
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString());
    } catch {
      return this.fail(rec, 'endpoint_body');
    }
    try {
      await this.respond(rec, body, false);
    } catch (err) {
      this.log.warn(
        'endpoint:answer',
        { app: app.id, err: (err as Error).message },
        'interaction endpoint answer refused',
      );
      return this.fail(rec, 'endpoint_body');
    }
  }

  /** The deadline: if nothing acknowledged the interaction by now, it failed. */
  private async deadline(id: string): Promise<void> {
    const p = this.pending.get(id);
    if (!p) return;
    try {
      if (await this.o.state.expire(id))
        await this.fail(p.rec, p.awaitingEndpoint ? 'endpoint_timeout' : 'no_ack', true);
      else await this.settled(p.rec, { outcome: 'acknowledged' }, false);
    } catch (err) {
      this.log.warn('deadline', { err: (err as Error).message }, 'interaction deadline check failed');
    }
  }

  private async fail(rec: InteractionRecord, reason: string, expired = false): Promise<void> {
    // Take the acknowledgement so a late callback gets 10062; if a callback won the race, it did not fail.
    if (!expired && !(await this.o.state.expire(rec.id))) return;
    this.o.metrics.failures.inc({ reason });
    await this.settled(rec, { outcome: 'failed', reason });
  }

  private async settled(rec: InteractionRecord, o: Outcome, tell = true): Promise<void> {
    const p = this.pending.get(rec.id);
    if (p) {
      this.pending.delete(rec.id);
      clearTimeout(p.timer);
      this.o.metrics.invocations.inc({ delivery: p.delivery, outcome: o.outcome });
      if (o.outcome === 'acknowledged')
        this.o.metrics.ackSeconds.observe({ delivery: p.delivery }, Number(process.hrtime.bigint() - p.started) / 1e9);
      p.settle(o);
    }
    // A submitted modal is closed once the application acknowledged it (until then the user may submit again).
    if (o.outcome === 'acknowledged' && rec.modalCustomId)
      await this.o.state.dropModal(rec.applicationId, rec.userId, rec.modalCustomId);
    // An autocomplete's success is its APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE.
    if (!tell || (rec.type === 4 && o.outcome === 'acknowledged')) return;
    await this.tellUser(rec, o.outcome === 'acknowledged' ? 'INTERACTION_SUCCESS' : 'INTERACTION_FAILURE', {
      id: rec.id,
      nonce: rec.nonce ?? null,
      ...(o.outcome === 'failed' ? { reason: o.reason } : {}),
    });
  }

  /** A client event for the invoking user's sessions only. */
  private async tellUser(rec: InteractionRecord, t: DispatchName, d: object): Promise<void> {
    await this.o.bus.publish({ t, d, guildId: rec.guildId, intent: 0, userIds: [rec.userId] });
  }

  private async findMessage(channelId: string, messageId: string): Promise<StoredMessage | null> {
    const m = (await this.o.state.ephemeral(messageId)) ?? (await this.o.storage.getMessage(channelId, messageId));
    return m && m.channelId === channelId ? m : null;
  }

  private refuse(err: ApiError): ApiError {
    this.o.metrics.refused.inc({ code: String(err.code) });
    return err;
  }
}
