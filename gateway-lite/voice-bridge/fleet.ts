import type { Snowflake } from '../storage/types.ts';

/**
 * What the voice bridge needs from the voice servers, and all it knows of them. bin/ implements it from signaling's
 * public face (fleet placement, join-token signing, the voice server's session events), so gateway-lite never imports
 * another part.
 */
export interface VoiceFleet {
  /**
   * The voice server that hosts (guild, channel) and a single-use join token for `userId`, whose claims carry the
   * main-gateway `sessionId` (the session id the client will send in its voice Identify).
   */
  join(req: VoiceJoinRequest): Promise<VoiceJoinTicket>;
  /**
   * Ends the voice session admitted with `tokenId` if it is still running (a leave, or the old session after a move);
   * a newer session of the same user is left alone.
   */
  release(req: VoiceReleaseRequest): Promise<void>;
  /** Voice-server news: a session ended there, or a server went away. Returns an unsubscribe function. */
  subscribe(listener: (event: VoiceFleetEvent) => void): () => void;
  close(): Promise<void>;
}

export interface VoiceJoinRequest {
  guildId: Snowflake;
  channelId: Snowflake;
  userId: Snowflake;
  /** The main-gateway session id (READY.session_id). */
  sessionId: string;
}

export interface VoiceJoinTicket {
  /** `host:port` of the wss voice gateway for VOICE_SERVER_UPDATE; null when no voice server is live. */
  endpoint: string | null;
  token: string;
  /** An opaque id of `token` (not the token), as session-ended events report it. */
  tokenId: string;
}

export interface VoiceReleaseRequest {
  guildId: Snowflake;
  userId: Snowflake;
  tokenId: string;
  /** Voice close code sent to the client (4014 disconnected, 4006 session no longer valid). */
  code: number;
  reason: string;
}

export type VoiceFleetEvent =
  | {
      kind: 'session-ended';
      guildId: Snowflake;
      channelId: Snowflake;
      userId: Snowflake;
      /** The id of the token the session was admitted with. */
      tokenId: string;
      /** The voice close code it ended with (1000 client left, 4014 kicked, 4006 replaced, 4009 timed out, 4015 shutdown). */
      code: number;
    }
  | {
      kind: 'server-gone';
      /** The endpoint that stopped serving (graceful shutdown or its placement lease expired). */
      endpoint: string;
    };
