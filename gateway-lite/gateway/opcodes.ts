import { z } from 'zod';

/** Gateway v10 opcodes (Discord's GatewayOpcodes); defined once, imported everywhere. */
export const Op = {
  DISPATCH: 0,
  HEARTBEAT: 1,
  IDENTIFY: 2,
  PRESENCE_UPDATE: 3,
  VOICE_STATE_UPDATE: 4,
  RESUME: 6,
  RECONNECT: 7,
  REQUEST_GUILD_MEMBERS: 8,
  INVALID_SESSION: 9,
  HELLO: 10,
  HEARTBEAT_ACK: 11,
} as const;

/** The envelope every frame carries; `s`/`t` are non-null only for op 0. */
export interface GatewayPayload {
  op: number;
  d: unknown;
  s?: number | null;
  t?: string | null;
}

const snowflake = z.string().regex(/^\d{1,20}$/, 'must be a snowflake string');
const activity = z.object({ name: z.string().max(128), type: z.number().int().min(0).max(6) }).passthrough();

/** op 3 (and Identify's `presence`). */
export const presenceSchema = z.object({
  since: z.number().nullable().optional(),
  activities: z.array(activity).max(16).default([]),
  status: z.enum(['online', 'dnd', 'idle', 'invisible', 'offline']).default('online'),
  afk: z.boolean().default(false),
});
export type PresencePayload = z.infer<typeof presenceSchema>;

/** op 2. Unknown keys pass (clients send `compress`, `properties` variants). */
export const identifySchema = z.object({
  token: z.string().min(1).max(256),
  properties: z.object({ os: z.string(), browser: z.string(), device: z.string() }).partial().passthrough().optional(),
  compress: z.boolean().optional(),
  large_threshold: z.number().int().min(50).max(250).default(50),
  shard: z.tuple([z.number().int(), z.number().int()]).optional(),
  presence: presenceSchema.optional(),
  intents: z.number().int(),
});
export type IdentifyPayload = z.infer<typeof identifySchema>;

/** op 6. */
export const resumeSchema = z.object({
  token: z.string().min(1).max(256),
  session_id: z.string().min(1).max(64),
  seq: z.number().int().min(0).nullable(),
});
export type ResumePayload = z.infer<typeof resumeSchema>;

/** op 4. */
export const voiceStateSchema = z.object({
  guild_id: snowflake,
  channel_id: snowflake.nullable(),
  self_mute: z.boolean().default(false),
  self_deaf: z.boolean().default(false),
});

/** op 8: query or user_ids is required (checked after parsing). */
export const requestMembersSchema = z.object({
  guild_id: snowflake,
  query: z.string().max(100).optional(),
  limit: z.number().int().min(0).max(1000).default(0),
  presences: z.boolean().optional(),
  user_ids: z.union([snowflake, z.array(snowflake).max(100)]).optional(),
  nonce: z.string().max(32).optional(),
});
export type RequestMembersPayload = z.infer<typeof requestMembersSchema>;

/** op 1: `d` is the last sequence the client saw, or null. */
export const heartbeatSchema = z.number().int().min(0).nullable();
