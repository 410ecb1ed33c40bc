/**
 * The IPC between the signaling process and an SFU worker process: commands down, events up. Commands carry no
 * replies: the signaling process owns every id (router ids, SSRCs), so each call on a remote channel is one message in
 * order, and signaling never waits on a worker.
 */
import type { TransportMode } from '../crypto/types.ts';
import type { IoChoice } from '../udp/datagram-io.ts';
import type { SilenceSynthesis } from '../rtp/silence.ts';

/** What a worker's Sfu is built from (the SfuOptions that cross a process boundary). */
export interface WorkerInit {
  workerId: number;
  bindAddress: string;
  port: number;
  publicIp: string;
  silence?: SilenceSynthesis;
  silenceGapMs?: number;
  maxPacketsPerSecond?: number;
  remoteIdleMs?: number;
  io?: IoChoice;
  logLevel: string;
}

export type WorkerCommand =
  | { t: 'init'; init: WorkerInit }
  | { t: 'router'; router: string }
  | { t: 'router-close'; router: string }
  | { t: 'transport'; router: string; ssrc: number }
  | { t: 'transport-close'; ssrc: number }
  | { t: 'peer-ip'; ssrc: number; ip: string | null }
  | { t: 'key'; ssrc: number; mode: TransportMode; key: Uint8Array }
  | { t: 'join'; router: string; userId: string; ssrc: number }
  | { t: 'mute'; router: string; userId: string; muted: boolean }
  | { t: 'deafen'; router: string; userId: string; deafened: boolean }
  | { t: 'speaking-ended'; router: string; userId: string }
  | { t: 'gate'; router: string; on: boolean }
  | { t: 'member'; router: string; userId: string; member: boolean }
  | { t: 'scrape'; id: number }
  /** Browser voice reached this channel: open the worker's end of a router pipe (reply: `pipe-opened`). */
  | { t: 'pipe-open'; id: number; router: string; ssrc: number }
  | { t: 'pipe-connect'; router: string; port: number }
  /** A browser joined (or left) the signaling process's end: its frames arrive through the pipe with `ssrc`. */
  | { t: 'pipe-member'; router: string; userId: string; ssrc: number; kind: string; on: boolean }
  | { t: 'close' };

/** Once a second: what placement weighs and /metrics shows per worker. */
export interface WorkerLoad {
  routers: number;
  participants: number;
  /** RTP datagrams received since the previous report. */
  rtpIn: number;
  /** Copies forwarded since the previous report. */
  forwarded: number;
}

export type WorkerEvent =
  | { t: 'ready'; port: number; io: string; fallback: string | null }
  | { t: 'failed'; error: string; code?: string }
  | { t: 'load'; load: WorkerLoad }
  | { t: 'e2ee-frame'; router: string; userId: string }
  | { t: 'scraped'; id: number; metrics: unknown[] }
  | { t: 'pipe-opened'; id: number; port: number }
  | { t: 'closed' };
