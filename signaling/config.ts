import { z } from 'zod';
import { bool, ipv4, isLoopbackHost, parseEnv, port, type Env } from '../common/config.ts';
import { secretFromConfigOrDataDir } from '../common/secrets.ts';
import { cryptoShape, ioShape, SILENCE_SYNTHESIS_MODES } from '../sfu/index.ts';

export const signalingShape = {
  /** Port of the TLS listener (wss:// and https API). @discordjs/voice only speaks wss. */
  SIGNALING_WSS_PORT: port(8443),
  /**
   * Port of the plain listener (ws:// and http API); -1 disables it. Unset = 8080 on a loopback bind and off on any
   * other, since it would carry tokens and `secret_key` in clear.
   */
  SIGNALING_WS_PORT: z.coerce.number().int().min(-1).max(65535).optional(),
  /** Port of the internal listener (admin API, /metrics) on RESOUND_INTERNAL_BIND. */
  SIGNALING_INTERNAL_PORT: port(8444),
  /** Host:port put into join endpoints; defaults to RESOUND_PUBLIC_IP and the wss port. */
  SIGNALING_PUBLIC_ENDPOINT: z.string().optional(),
  /** TLS certificate and key (PEM paths); unset = self-signed development certificate in the data folder. */
  SIGNALING_TLS_CERT: z.string().optional(),
  SIGNALING_TLS_KEY: z.string().optional(),
  /** HMAC secret for voice tokens; unset = generated once into the data folder. */
  VOICE_TOKEN_SECRET: z.string().min(16).optional(),
  /** Join tokens are single-use and meant to be used at once; a short life limits what a leaked one is worth. */
  VOICE_TOKEN_TTL_S: z.coerce.number().int().min(10).default(60),
  /** Bearer token of the admin API (/voice/join, mute, deafen, disconnect); unset = generated into the data folder. */
  ADMIN_TOKEN: z.string().min(16).optional(),
  SIGNALING_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).default(13750),
  /** A socket must send Identify (or Resume) this soon after opening, or it is closed with 4003. */
  SIGNALING_IDENTIFY_TIMEOUT_MS: z.coerce.number().int().min(10).default(10_000),
  /** Open voice WebSockets across both listeners, and per client IP; beyond them upgrades are answered 503. */
  SIGNALING_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(5000),
  SIGNALING_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).default(64),
  /** How long a session whose socket dropped stays resumable. */
  SIGNALING_RESUME_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  /** Largest accepted client frame; larger ones close the socket with 4002. */
  SIGNALING_MAX_FRAME_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  /** Token bucket per connection: burst size and refill per second; overflow closes with 4021. */
  SIGNALING_RATE_BURST: z.coerce.number().int().min(1).default(120),
  SIGNALING_RATE_PER_S: z.coerce.number().min(0.1).default(20),
  /** IPv4 address the UDP media plane advertises in Ready. */
  RESOUND_PUBLIC_IP: ipv4.default('127.0.0.1'),
  /** UDP port of the SFU; 0 = ephemeral. */
  SFU_UDP_PORT: port(50000),
  /** Comma-separated transport modes in order of preference; unset = measured default (see sfu/crypto). */
  SFU_MODES: z.string().optional(),
  /** Offer the retired XSalsa20 modes (old clients). Off: only the AEAD modes are offered or accepted in SFU_MODES. */
  SFU_LEGACY_MODES: bool(false),
  /**
   * `ip`: a client's UDP must come from its voice WebSocket's peer IP (nobody can aim media at a third party).
   * `any`: no such check, for dual-stack (WebSocket over IPv6, UDP over IPv4) or split NAT/proxy deployments.
   */
  SFU_UDP_PEER_MATCH: z.enum(['ip', 'any']).default('ip'),
  /** The SFU stops sending to a client address nothing (media, keepalive, IP discovery) came from for this long. */
  SFU_REMOTE_IDLE_MS: z.coerce.number().int().min(50).default(30_000),
  /**
   * When the SFU sends the five silence frames for a speaker who did not: `vanish` (transport closed, server mute,
   * op 5 speaking off, or nothing for SFU_SILENCE_VANISH_MS), `gap` (any pause of SFU_SILENCE_GAP_MS, even a jitter
   * spike mid-talk), `off`. The default comes from `npm run bench -- audio` (README, "Silence synthesis").
   */
  SFU_SILENCE_SYNTHESIS: z.enum(SILENCE_SYNTHESIS_MODES).default('vanish'),
  /** `gap` mode: a speaker silent this long without a silence tail gets five synthesized silence frames. */
  SFU_SILENCE_GAP_MS: z.coerce.number().int().min(20).default(200),
  /** `vanish` mode: a speaker who sent nothing for this long mid-talk counts as gone. */
  SFU_SILENCE_VANISH_MS: z.coerce.number().int().min(100).default(5000),
  /** Packets per second one sender may push (Opus: 50); a second's worth may burst. Excess is dropped and counted. */
  SFU_MAX_PPS: z.coerce.number().int().min(10).default(200),
  /**
   * SFU worker processes (one socket and port each, UDP ports from SFU_UDP_PORT up). 0 = media in the signaling
   * process. Unset: one per core for `resound start voice` alone, 0 when voice shares the process with other parts.
   */
  SFU_WORKERS: z.coerce.number().int().min(0).max(256).optional(),
  /** Fleet placement: `redis` publishes this server's load and sends each new channel to the least-loaded live server. */
  VOICE_PLACEMENT: z.enum(['off', 'redis']).default('off'),
  VOICE_PLACEMENT_PREFIX: z.string().default('resound:voice'),
  /** DAVE E2EE policy for channels: required (refuse clients without DAVE: 4017), optional (mixed), off. */
  VOICE_E2EE: z.enum(['required', 'optional', 'off']).default('optional'),
  /** How long a DAVE transition waits for every participant's op 23 before op 22 goes out anyway. */
  DAVE_TRANSITION_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  /**
   * Browser voice (op 1 `protocol: "webrtc"`, mediasoup). `on`: the media engine starts with the first browser and
   * needs the worker `npm run setup:webrtc` builds; without it browsers are told so (close 4012). `off`: refused.
   */
  VOICE_WEBRTC: z.enum(['on', 'off']).default('on'),
  /** UDP port of the mediasoup WebRtcServer (worker i listens on port + i); 0 = any free port. */
  SFU_WEBRTC_PORT: port(0),
  /** mediasoup workers; unset = one per core. */
  SFU_WEBRTC_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  /** Live browser voice transports one client IP may hold; beyond it op 1 closes with 4021. */
  VOICE_WEBRTC_MAX_PER_IP: z.coerce.number().int().min(1).default(8),
  /**
   * The demo page (GET /demo) and its join route (POST /demo/join), which hands anyone a voice token for a channel of
   * VOICE_DEMO_GUILD_ID. `auto`: only when RESOUND_BIND is loopback; `on`: everywhere (development only); `off`.
   */
  VOICE_DEMO: z.enum(['auto', 'on', 'off']).default('auto'),
  /** The one guild the demo join route admits to (a real guild's channels are never reachable through it). */
  VOICE_DEMO_GUILD_ID: z
    .string()
    .regex(/^[1-9]\d{0,19}$/)
    .default('100000000000000001'),
  /** Validated here so a bad value stops start-up; read by the SFU's crypto backend loader. */
  ...cryptoShape,
  /** Validated here so a bad value stops start-up; read by the SFU when it opens its socket (`auto|batched|dgram`). */
  ...ioShape,
};

export type SignalingConfig = z.infer<z.ZodObject<typeof signalingShape>>;

export function loadSignalingConfig(env: Env = process.env): SignalingConfig {
  return parseEnv(signalingShape, env);
}

/** The plain ws:// listener's port for this bind, or -1 when it stays closed (unset + a bind beyond loopback). */
export function plainListenerPort(config: Pick<SignalingConfig, 'SIGNALING_WS_PORT'>, bind: string): number {
  return config.SIGNALING_WS_PORT ?? (isLoopbackHost(bind) ? 8080 : -1);
}

/**
 * The fleet's join-token HMAC secret: VOICE_TOKEN_SECRET, else the one generated into the data folder. Whoever mints
 * tokens for these voice servers (the platform's voice bridge) must read it the same way.
 */
export function voiceTokenSecret(config: Pick<SignalingConfig, 'VOICE_TOKEN_SECRET'>, dataDir: string): string {
  return secretFromConfigOrDataDir(config.VOICE_TOKEN_SECRET, dataDir, 'voice-token-secret', 'VOICE_TOKEN_SECRET');
}
