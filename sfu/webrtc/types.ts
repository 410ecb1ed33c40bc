import type { Registry } from 'prom-client';

/**
 * The WebRTC media engine's public vocabulary: what the signaling side sends a browser (local ICE-lite/DTLS
 * parameters), what it gets back from the browser (remote DTLS fingerprints, the microphone's RTP parameters) and
 * what the engine tells it (new consumers, speaking, rejoin). Plain data only, so the ≤1 KB session description can be
 * built from it without touching mediasoup types.
 */

/** Whether browser voice can run here; when not, `reason` says why in one sentence (logged and shown to clients). */
export type EngineStatus = { available: true; workers: number } | { available: false; reason: string };

export interface IceParameters {
  usernameFragment: string;
  password: string;
  /** Always true: the server is ICE-lite, the browser is the controlling agent. */
  iceLite: true;
}

export interface IceCandidate {
  foundation: string;
  priority: number;
  /** The voice server's (announced) address. */
  address: string;
  port: number;
  protocol: 'udp' | 'tcp';
  type: 'host';
}

export interface DtlsFingerprint {
  /** e.g. 'sha-256'. */
  algorithm: string;
  /** Colon-separated upper-case hex, as in SDP's a=fingerprint. */
  value: string;
}

export type DtlsRole = 'auto' | 'client' | 'server';

/** What the browser needs from the server to build its remote SDP. */
export interface LocalParameters {
  ice: IceParameters;
  candidates: IceCandidate[];
  fingerprints: DtlsFingerprint[];
  /** The server's DTLS role ('auto' until connect() fixes it; browsers offering actpass get 'server'... see connect). */
  dtlsRole: DtlsRole;
}

/** The browser's DTLS parameters, from its own SDP (a=fingerprint, a=setup). */
export interface RemoteDtls {
  fingerprints: DtlsFingerprint[];
  /** The browser's role: a=setup:active → 'client', passive → 'server'. Default 'client' (what Chromium answers). */
  role?: 'client' | 'server';
}

/** The microphone track's RTP parameters, read by the client from its own offer (all small integers). */
export interface BrowserProduceParams {
  /** a=mid of the browser's sending m-line. */
  mid: string;
  /** a=ssrc of the browser's track (Chromium picks it; the native side keeps the signaling SSRC). */
  ssrc: number;
  /** Opus payload type in the browser's offer (111 in Chromium). */
  payloadType: number;
  /** a=extmap id of urn:ietf:params:rtp-hdrext:ssrc-audio-level (feeds the audio-level observer). */
  audioLevelExtId?: number;
  /** a=extmap id of urn:ietf:params:rtp-hdrext:sdes:mid. */
  midExtId?: number;
  /** The a=fmtp line's parameters for Opus, e.g. { useinbandfec: 1, minptime: 10 }. */
  fmtp?: Record<string, number>;
  cname?: string;
}

/** A stream a browser receives: one per other speaker (native or browser) in its channel. */
export interface ConsumerInfo {
  /** Who speaks on it. */
  userId: string;
  /** The speaker's SSRC in the channel's one SSRC/user map (op 2/op 5 on the voice gateway). */
  userSsrc: number;
  /** The wire SSRC of this stream towards this browser (mediasoup picks it per consumer). */
  ssrc: number;
  /** The m-line's mid in the browser's SDP; unique per browser, never '0' (the browser's own microphone m-line). */
  mid: string;
  payloadType: number;
  cname: string;
}

/** Why a browser must reconnect: its channel moved to another mediasoup worker, or the engine closed. */
export type RejoinReason = 'worker_died' | 'engine_closed' | 'channel_closed';

export interface WebRtcEngineOptions {
  /** Address the WebRtcServer binds (the voice server's UDP address). */
  listenIp: string;
  /** Address put in ICE candidates when it differs from listenIp (NAT / 0.0.0.0 binds). */
  announcedAddress?: string;
  /** First WebRtcServer port; worker i listens on port + i. 0 (default) = any free port. */
  port?: number;
  /** mediasoup workers; default one per core. */
  workers?: number;
  /** Registry for the engine's metrics (resound_webrtc_*); none when omitted. */
  registry?: Registry;
  /** Worker log level (mediasoup's), default 'warn'. */
  logLevel?: 'debug' | 'warn' | 'error' | 'none';
}
