/**
 * The browser voice protocol's wire shapes, shared by the server (signaling/webrtc) and the demo page's bundle
 * (signaling/demo): plain types and constants, no imports, so the browser bundle stays tiny.
 *
 * A browser speaks the native voice gateway v8 (ops 0, 2, 3, 5, 8, 11, 13 unchanged) and differs in four places:
 * op 1 selects `protocol: "webrtc"`, op 4 carries the compact description below instead of a secret key, the client
 * answers with its DTLS parameters (op 40) and its microphone stream (op 41), and op 12 tells it which stream (SSRC)
 * carries each other user's audio on its own connection.
 */

/** Browser-only opcodes. 12 keeps Discord's old "client connect" meaning (a user's audio SSRC); 40+ are Resound's own. */
export const WebRtcOp = {
  /** S→C: `WebRtcStreamData`, one per other user whose audio this browser can receive (again when it changes). */
  Stream: 12,
  /** C→S: `WebRtcConnectData`, the browser's DTLS role and certificate fingerprint from its SDP answer. */
  Connect: 40,
  /** C→S: `WebRtcProduceData`, the SSRC the browser sends its microphone with. */
  Produce: 41,
} as const;

/** Name of the protocol in op 1 and of the mode in op 4. */
export const WEBRTC_PROTOCOL = 'webrtc';

/** Opus as both sides use it; the payload type and header extension id are fixed by the server and sent in op 4. */
export interface WebRtcCodec {
  /** RTP payload type of Opus, in both directions. */
  pt: number;
  /** `a=fmtp` parameters for Opus. */
  fmtp: string;
  /** Header extension id of urn:ietf:params:rtp-hdrext:ssrc-audio-level (the server's speaker detection reads it). */
  audio_level_ext: number;
}

/** One ICE candidate of the server: `[ip, port, "udp" | "tcp", priority]` (ICE-lite, host candidates only). */
export type WebRtcCandidate = [ip: string, port: number, protocol: 'udp' | 'tcp', priority: number];

/**
 * Op 4 for a browser: everything its SDP needs and nothing else (kept ≤ 1,000 bytes as JSON; test/webrtc asserts it).
 * Other users' streams are not in it: they arrive one by one as op 12.
 */
export interface WebRtcDescription {
  mode: typeof WEBRTC_PROTOCOL;
  audio_codec: 'opus';
  media_session_id: string;
  /** Browsers do not do DAVE here: always 0. */
  dave_protocol_version: 0;
  /** The SSRC other users know this user by (native clients via op 5); the browser puts it in its own op 5. */
  ssrc: number;
  /** The server's ICE-lite credentials. */
  ice: { ufrag: string; pwd: string };
  candidates: WebRtcCandidate[];
  /** The server's DTLS certificate fingerprint (one algorithm suffices). */
  dtls: { algorithm: string; value: string };
  codec: WebRtcCodec;
}

/** Op 40: the browser's side of DTLS, read from its local SDP answer. */
export interface WebRtcConnectData {
  /** The browser's DTLS role: "client" when its answer says a=setup:active, "server" for passive. */
  role: 'client' | 'server';
  fingerprint: { algorithm: string; value: string };
}

/** Op 41: the browser's microphone RTP stream. */
export interface WebRtcProduceData {
  ssrc: number;
}

/** Op 12 to a browser: `user_id`'s audio reaches this browser as `audio_ssrc` (0 = no longer). */
export interface WebRtcStreamData {
  user_id: string;
  audio_ssrc: number;
}
