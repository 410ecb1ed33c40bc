/** Gateway close codes (Discord's GatewayCloseCodes), with whether the docs let a client reconnect after each. */
export const CloseCode = {
  /** Client-initiated normal close: the session is invalidated (not resumable). */
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNKNOWN_ERROR: 4000,
  UNKNOWN_OPCODE: 4001,
  DECODE_ERROR: 4002,
  NOT_AUTHENTICATED: 4003,
  AUTHENTICATION_FAILED: 4004,
  ALREADY_AUTHENTICATED: 4005,
  INVALID_SEQ: 4007,
  RATE_LIMITED: 4008,
  SESSION_TIMED_OUT: 4009,
  INVALID_SHARD: 4010,
  SHARDING_REQUIRED: 4011,
  INVALID_API_VERSION: 4012,
  INVALID_INTENTS: 4013,
  DISALLOWED_INTENTS: 4014,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Codes after which the docs say do NOT reconnect (the client must fix something first). */
const FATAL = new Set<number>([
  CloseCode.AUTHENTICATION_FAILED,
  CloseCode.INVALID_SHARD,
  CloseCode.SHARDING_REQUIRED,
  CloseCode.INVALID_API_VERSION,
  CloseCode.INVALID_INTENTS,
  CloseCode.DISALLOWED_INTENTS,
]);

export function mayReconnect(code: number): boolean {
  return !FATAL.has(code);
}

/**
 * Whether a socket closed with `code` leaves its session resumable. Discord: a client close with 1000/1001
 * invalidates the session; everything else (other codes, a TCP drop, our own resumable closes) keeps it for a while.
 * Server closes that end a session on purpose (auth, shard, intents) never reach a session in the first place.
 */
export function keepsSession(code: number): boolean {
  return code !== CloseCode.NORMAL && code !== CloseCode.GOING_AWAY;
}

/** The close frame's reason (≤ 123 bytes): a short sentence naming what was wrong. */
export function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
