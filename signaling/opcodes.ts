import { z } from 'zod';
import { WebRtcOp } from './webrtc/wire.ts';

/** Discord voice gateway opcodes (v8). */
export const Op = {
  Identify: 0,
  SelectProtocol: 1,
  Ready: 2,
  Heartbeat: 3,
  SessionDescription: 4,
  Speaking: 5,
  HeartbeatAck: 6,
  Resume: 7,
  Hello: 8,
  Resumed: 9,
  ClientsConnect: 11,
  ClientDisconnect: 13,
  DavePrepareTransition: 21,
  DaveExecuteTransition: 22,
  DaveTransitionReady: 23,
  DavePrepareEpoch: 24,
  DaveMlsExternalSender: 25,
  DaveMlsKeyPackage: 26,
  DaveMlsProposals: 27,
  DaveMlsCommitWelcome: 28,
  DaveMlsAnnounceCommitTransition: 29,
  DaveMlsWelcome: 30,
  DaveMlsInvalidCommitWelcome: 31,
  /** Browser voice (signaling/webrtc/wire.ts): S→C a user's stream, C→S DTLS parameters, C→S microphone SSRC. */
  WebRtcStream: WebRtcOp.Stream,
  WebRtcConnect: WebRtcOp.Connect,
  WebRtcProduce: WebRtcOp.Produce,
} as const;

/** Voice close codes (Discord's table); 4014 and 4021/4022 tell clients not to reconnect, 4015 asks them to resume. */
export const Close = {
  UnknownOpcode: 4001,
  DecodeError: 4002,
  NotAuthenticated: 4003,
  AuthenticationFailed: 4004,
  AlreadyAuthenticated: 4005,
  SessionNoLongerValid: 4006,
  SessionTimeout: 4009,
  ServerNotFound: 4011,
  UnknownProtocol: 4012,
  Disconnected: 4014,
  VoiceServerCrashed: 4015,
  UnknownEncryptionMode: 4016,
  E2eeRequired: 4017,
  BadRequest: 4020,
  RateLimited: 4021,
  CallTerminated: 4022,
} as const;
export type CloseCode = (typeof Close)[keyof typeof Close];

const snowflake = z.string().regex(/^\d{1,20}$/, 'must be a snowflake string');

export const IdentifySchema = z.object({
  server_id: snowflake,
  user_id: snowflake,
  session_id: z.string().min(1).max(128),
  token: z.string().min(1).max(2048),
  max_dave_protocol_version: z.number().int().min(0).max(255).optional(),
  video: z.boolean().optional(),
  streams: z.array(z.unknown()).optional(),
});
export type IdentifyData = z.infer<typeof IdentifySchema>;

export const SelectProtocolSchema = z.object({
  protocol: z.string(),
  data: z.object({
    address: z.string().max(64),
    port: z.number().int().min(0).max(65535),
    mode: z.string().max(64),
  }),
  codecs: z.array(z.unknown()).optional(),
  rtc_connection_id: z.string().optional(),
});
export type SelectProtocolData = z.infer<typeof SelectProtocolSchema>;

/** v8 sends `{t, seq_ack}`; older versions a bare nonce. */
export const HeartbeatSchema = z.union([z.object({ t: z.number(), seq_ack: z.number().int().optional() }), z.number()]);

export const SpeakingSchema = z.object({
  speaking: z.union([z.number().int().min(0).max(7), z.boolean()]),
  delay: z.number().int().min(0).optional(),
  ssrc: z.number().int().min(0).max(0xffffffff),
});

export const ResumeSchema = z.object({
  server_id: snowflake,
  session_id: z.string().min(1).max(128),
  token: z.string().min(1).max(2048),
  seq_ack: z.number().int().optional(),
});

export const TransitionSchema = z.object({ transition_id: z.number().int().min(0).max(0xffff) });

/** Envelope of every client JSON message. */
export const EnvelopeSchema = z.object({ op: z.number().int(), d: z.unknown(), seq: z.number().optional() });
