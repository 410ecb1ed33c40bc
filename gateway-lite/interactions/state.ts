/**
 * Interaction state in Redis, shared by every API node: the record a token stands for (15 minutes), the single
 * acknowledgement (SET NX, so two nodes can never both accept a callback, and the 3 s deadline is the same race:
 * whoever sets the key first wins — a callback, or the deadline marking the interaction failed), the original
 * response message, ephemeral messages (they are never in channel history, only here for their 15 minutes) and the
 * modals shown to users, waiting for their submit (one per user, application and custom_id; also the token's lifetime).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Snowflake, StoredMessage } from '../storage/types.ts';
import type { ShownModal } from './modals.ts';

export interface InteractionRecord {
  id: Snowflake;
  applicationId: Snowflake;
  botUserId: Snowflake;
  /** SHA-256 of the token (hex); the token itself is only in the delivered interaction. */
  tokenHash: string;
  /** 2 APPLICATION_COMMAND, 3 MESSAGE_COMPONENT, 4 APPLICATION_COMMAND_AUTOCOMPLETE, 5 MODAL_SUBMIT. */
  type: 2 | 3 | 4 | 5;
  /** Command type for type 2 (1 CHAT_INPUT, 2 USER, 3 MESSAGE). */
  commandType?: 1 | 2 | 3;
  commandId?: Snowflake;
  commandName?: string;
  channelId: Snowflake;
  guildId: Snowflake;
  userId: Snowflake;
  /** Components: the message the component is on (the target of types 6 and 7 and of `@original`); modal submits
   * of a modal shown from a component: that component's message. */
  messageId?: Snowflake;
  /** Autocomplete: the focused option's type (the type of the choices' values). */
  focusedType?: number;
  /** Modal submits: the modal's custom_id (the modal is dropped once the submit is acknowledged). */
  modalCustomId?: string;
  /** Modal submits: the interaction that showed the modal (its `triggering_interaction_metadata`). */
  trigger?: InteractionTrigger;
  nonce?: string;
  createdAt: number;
}

/** The part of a record that message `interaction_metadata` describes (a modal's triggering interaction). */
export type InteractionTrigger = Pick<InteractionRecord, 'id' | 'type' | 'commandName' | 'commandType' | 'messageId'>;

/** What the first acknowledgement was; `expired` = the deadline passed first (the user was told it failed). */
export type AckState = 'expired' | `${number}`;

export interface OriginalRef {
  messageId: Snowflake;
  ephemeral: boolean;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The acknowledgement and, for a response that creates a message, its `@original` reference in one round trip: SET NX
 * on the ack key; only the winner writes the reference. A loser gets what took the acknowledgement first.
 */
const ACK = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2]) end
  return 'ok'
end
return redis.call('GET', KEYS[1]) or 'expired'
`;

type AckRedis = Redis & {
  resoundIxAck(ackKey: string, origKey: string, type: string, ttlMs: number, original: string): Promise<string>;
};

export class InteractionState {
  private readonly redis: AckRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    /** How long a token works (Discord: 15 minutes). */
    readonly tokenTtlMs: number,
  ) {
    const r = redis as AckRedis;
    if (typeof r.resoundIxAck !== 'function') r.defineCommand('resoundIxAck', { numberOfKeys: 2, lua: ACK });
    this.redis = r;
  }

  /**
   * Discord-shaped token: base64url("interaction:<id>:<secret>"), so the id is recoverable without a lookup. 192
   * secret bits keep it under fastify's 100-character path parameter limit.
   */
  mintToken(id: Snowflake): { token: string; tokenHash: string } {
    const token = Buffer.from(`interaction:${id}:${randomBytes(24).toString('base64url')}`).toString('base64url');
    return { token, tokenHash: hash(token) };
  }

  async create(rec: InteractionRecord): Promise<void> {
    await this.redis.set(this.key('ix', rec.id), JSON.stringify(rec), 'PX', this.tokenTtlMs);
  }

  /** The live record a token stands for, or null (unknown, expired or wrong secret). */
  async byToken(token: string, id?: Snowflake): Promise<InteractionRecord | null> {
    const parts = Buffer.from(token, 'base64url').toString().split(':');
    const tokenId = parts[0] === 'interaction' && parts.length === 3 ? parts[1] : null;
    if (!tokenId || !/^\d{1,20}$/.test(tokenId) || (id !== undefined && id !== tokenId)) return null;
    const raw = await this.redis.get(this.key('ix', tokenId));
    if (!raw) return null;
    const rec = JSON.parse(raw) as InteractionRecord;
    return this.holds(rec, token) ? rec : null;
  }

  /** Whether `token` is the one minted for `rec` (constant-time on the hashes). */
  holds(rec: InteractionRecord, token: string): boolean {
    const a = Buffer.from(rec.tokenHash, 'hex');
    const b = Buffer.from(hash(token), 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * Take the acknowledgement: 'ok' for the first caller, else what took it first. `original`, when given, is stored
   * as the `@original` reference in the same script, only by the winner.
   */
  async ack(id: Snowflake, type: number, original?: OriginalRef): Promise<'ok' | AckState> {
    const ref = original ? JSON.stringify(original) : '';
    const won = await this.redis.resoundIxAck(
      this.key('ack', id),
      this.key('orig', id),
      String(type),
      this.tokenTtlMs,
      ref,
    );
    return won as 'ok' | AckState;
  }

  /** The deadline's side of the race: true when nothing acknowledged it and it is now failed. */
  async expire(id: Snowflake): Promise<boolean> {
    return (await this.redis.set(this.key('ack', id), 'expired', 'PX', this.tokenTtlMs, 'NX')) === 'OK';
  }

  async acked(id: Snowflake): Promise<AckState | null> {
    return (await this.redis.get(this.key('ack', id))) as AckState | null;
  }

  async setOriginal(id: Snowflake, ref: OriginalRef): Promise<void> {
    await this.redis.set(this.key('orig', id), JSON.stringify(ref), 'PX', this.tokenTtlMs);
  }

  async original(id: Snowflake): Promise<OriginalRef | null> {
    const raw = await this.redis.get(this.key('orig', id));
    return raw ? (JSON.parse(raw) as OriginalRef) : null;
  }

  async putEphemeral(m: StoredMessage): Promise<void> {
    await this.redis.set(this.key('eph', m.id), JSON.stringify(m), 'PX', this.tokenTtlMs);
  }

  async ephemeral(messageId: Snowflake): Promise<StoredMessage | null> {
    const raw = await this.redis.get(this.key('eph', messageId));
    return raw ? (JSON.parse(raw) as StoredMessage) : null;
  }

  async dropEphemeral(messageId: Snowflake): Promise<boolean> {
    return (await this.redis.del(this.key('eph', messageId))) > 0;
  }

  async putModal(shown: ShownModal): Promise<void> {
    const key = this.modalKey(shown.applicationId, shown.userId, shown.modal.custom_id);
    await this.redis.set(key, JSON.stringify(shown), 'PX', this.tokenTtlMs);
  }

  async modal(applicationId: Snowflake, userId: Snowflake, customId: string): Promise<ShownModal | null> {
    const raw = await this.redis.get(this.modalKey(applicationId, userId, customId));
    return raw ? (JSON.parse(raw) as ShownModal) : null;
  }

  async dropModal(applicationId: Snowflake, userId: Snowflake, customId: string): Promise<void> {
    await this.redis.del(this.modalKey(applicationId, userId, customId));
  }

  private modalKey(applicationId: Snowflake, userId: Snowflake, customId: string): string {
    return this.key('modal', `${applicationId}:${userId}:${Buffer.from(customId).toString('base64url')}`);
  }

  private key(kind: string, id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }
}
