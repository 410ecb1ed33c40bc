import type { Snowflake } from '../storage/types.ts';

/**
 * The contract between whatever changes platform state (REST routes, guild actors, the voice bridge, interactions)
 * and the v10 gateway sessions that tell clients about it. Producers publish a `GatewayDispatch` on a `DispatchBus`;
 * the bus carries it to every gateway node (in-process, or across nodes through Redis), and each node's session hub
 * decides which of its sessions receive it (shard, guild membership, intents, `userIds`).
 */

/** Dispatch names this gateway emits (a v10 subset). */
export type DispatchName =
  | 'MESSAGE_CREATE'
  | 'MESSAGE_UPDATE'
  | 'MESSAGE_DELETE'
  | 'TYPING_START'
  | 'PRESENCE_UPDATE'
  | 'GUILD_CREATE'
  | 'GUILD_DELETE'
  | 'GUILD_MEMBER_ADD'
  | 'GUILD_MEMBER_REMOVE'
  | 'GUILD_MEMBERS_CHUNK'
  | 'GUILD_MEMBER_LIST_UPDATE'
  | 'CHANNEL_CREATE'
  | 'CHANNEL_UPDATE'
  | 'CHANNEL_DELETE'
  | 'VOICE_STATE_UPDATE'
  | 'VOICE_SERVER_UPDATE'
  | 'INTERACTION_CREATE'
  | 'INTERACTION_SUCCESS'
  | 'INTERACTION_FAILURE'
  | 'INTERACTION_MODAL_CREATE'
  | 'APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE'
  | 'APPLICATION_COMMAND_PERMISSIONS_UPDATE';

/** Gateway intent bits (Discord's GatewayIntentBits). */
export const Intent = {
  GUILDS: 1 << 0,
  GUILD_MEMBERS: 1 << 1,
  GUILD_MODERATION: 1 << 2,
  GUILD_EXPRESSIONS: 1 << 3,
  GUILD_INTEGRATIONS: 1 << 4,
  GUILD_WEBHOOKS: 1 << 5,
  GUILD_INVITES: 1 << 6,
  GUILD_VOICE_STATES: 1 << 7,
  GUILD_PRESENCES: 1 << 8,
  GUILD_MESSAGES: 1 << 9,
  GUILD_MESSAGE_REACTIONS: 1 << 10,
  GUILD_MESSAGE_TYPING: 1 << 11,
  DIRECT_MESSAGES: 1 << 12,
  DIRECT_MESSAGE_REACTIONS: 1 << 13,
  DIRECT_MESSAGE_TYPING: 1 << 14,
  MESSAGE_CONTENT: 1 << 15,
  GUILD_SCHEDULED_EVENTS: 1 << 16,
  AUTO_MODERATION_CONFIGURATION: 1 << 20,
  AUTO_MODERATION_EXECUTION: 1 << 21,
  GUILD_MESSAGE_POLLS: 1 << 24,
  DIRECT_MESSAGE_POLLS: 1 << 25,
} as const;

/** One event for gateway sessions. Plain JSON-serialisable data: it crosses nodes through Redis as is. */
export interface GatewayDispatch {
  t: DispatchName;
  /** The dispatch's `d`, exactly as clients receive it (snowflakes as strings). */
  d: unknown;
  /** The guild it belongs to: shard routing `(guild_id >> 22) % num_shards` and membership filtering; null → shard 0. */
  guildId: Snowflake | null;
  /** Intent bit a session needs to receive it; 0 = none needed (VOICE_SERVER_UPDATE, INTERACTION_CREATE, READY…). */
  intent: number;
  /** Only these users' sessions receive it (VOICE_SERVER_UPDATE, INTERACTION_CREATE to one bot); unset = every member. */
  userIds?: Snowflake[];
  /** Non-critical events (typing, presence) are the first a slow consumer is shed of. */
  sheddable?: boolean;
  /**
   * Unique event id, stamped by the bus on publish when the producer left it unset (`stampEventId`), identical on
   * every node. A node taking over a detached session (cross-node Resume) uses it to skip events the previous holder
   * already numbered, so each is delivered exactly once. Buses must stamp it.
   */
  id?: string;
}

let idCounter = 0;
const idPrefix = `${process.pid.toString(36)}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;

/** Gives `event` a process-unique id unless it has one; returns the event (same object). */
export function stampEventId(event: GatewayDispatch): GatewayDispatch {
  event.id ??= `${idPrefix}.${(idCounter++).toString(36)}`;
  return event;
}

/** Carries dispatches to every gateway node. `publish` resolves once the bus has taken the event (not delivered). */
export interface DispatchBus {
  publish(event: GatewayDispatch): Promise<void>;
  /** Called for every event published on any node, in publish order per guild. Returns an unsubscribe function. */
  subscribe(listener: (event: GatewayDispatch) => void): () => void;
  close(): Promise<void>;
}

/** Client commands the session layer hands to other modules (the voice bridge owns op 4). */
export interface GatewayCommandHandlers {
  /** op 4 Voice State Update from an identified session; throwing a `GatewayCloseError` closes with its code. */
  voiceStateUpdate?(
    session: { userId: Snowflake; sessionId: string },
    d: { guild_id: Snowflake; channel_id: Snowflake | null; self_mute: boolean; self_deaf: boolean },
  ): Promise<void>;
  /**
   * A session ended for good (closed 1000/1001, invalidated, resume window expired): as on Discord, the user's voice
   * states made through it end too. Not called when the session moves to another node (it lives on there).
   */
  sessionEnded?(session: { userId: Snowflake; sessionId: string; guildIds: Iterable<Snowflake> }): void;
}

/** Thrown by a command handler to close the session with a documented gateway close code. */
export class GatewayCloseError extends Error {
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(reason);
    this.name = 'GatewayCloseError';
  }
}

/** A single-process bus: every publish reaches this node's subscribers synchronously, in order. */
export class LocalDispatchBus implements DispatchBus {
  private readonly listeners = new Set<(event: GatewayDispatch) => void>();

  publish(event: GatewayDispatch): Promise<void> {
    stampEventId(event);
    for (const l of this.listeners) l(event);
    return Promise.resolve();
  }

  subscribe(listener: (event: GatewayDispatch) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }
}
