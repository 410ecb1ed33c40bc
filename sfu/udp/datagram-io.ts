/**
 * The SFU's datagram I/O, behind one small interface so the forwarding rules (sfu.ts, router.ts, udp-transport.ts)
 * exist once whatever moves the bytes: `batched` (native/udp-mmsg: recvmmsg/sendmmsg driven by libuv readiness) or
 * `dgram` (node:dgram, the portable fallback).
 */
import { z } from 'zod';

export type IoPath = 'batched' | 'dgram';
export const IO_CHOICES = ['auto', 'batched', 'dgram'] as const;
export type IoChoice = (typeof IO_CHOICES)[number];

/** Environment of the I/O layer; validated with the rest of the SFU's configuration at start-up. */
export const ioShape = {
  /** `auto`: batched where the addon loads, node:dgram otherwise. `batched` refuses to start without the addon. */
  SFU_IO: z.enum(IO_CHOICES).default('auto'),
};

/**
 * Largest datagram the SFU accepts (bytes), on both paths: a voice packet is far smaller, and the batched path's
 * receive slots are this size, so anything longer is refused as malformed the same way everywhere.
 */
export const MAX_DATAGRAM_BYTES = 2048;
/** Room for a sealed copy: the largest accepted plaintext plus the tag, nonce and a re-written header. */
export const SEND_SLOT_BYTES = MAX_DATAGRAM_BYTES + 64;

/** Where a datagram goes. */
export interface RemoteAddress {
  address: string;
  port: number;
}

/** Whoever a sent copy is charged to when the kernel refuses it (the receiving transport). */
export interface SendOwner {
  sendFailed(code: string): void;
}

/** What the I/O layer calls back into: the SFU's one datagram rule set. */
export interface DatagramHandler {
  /** `buf[0, length)` is the datagram (length may exceed `buf` when it was longer than a slot: refuse it). */
  datagram(buf: Uint8Array, length: number, address: string, port: number): void;
}

export interface DatagramIo {
  readonly path: IoPath;
  readonly port: number;
  /** Where to build the next outgoing datagram (at offset 0, up to SEND_SLOT_BYTES); pass it to `send`. */
  sendBuffer(): Uint8Array;
  /** Sends (dgram) or queues for this batch's one sendmmsg (batched) `buf[0, length)`. */
  send(buf: Uint8Array, length: number, remote: RemoteAddress, owner: SendOwner | null): void;
  /** Datagrams the kernel dropped because the socket's receive queue was full (cumulative). */
  receiveQueueOverflows(): number;
  /** Receive batches and send calls so far (for /metrics: datagrams per call is the batching gain). */
  readonly stats: { receiveCalls: number; sendCalls: number };
  close(): Promise<void>;
}

/** Dotted IPv4 → host-order uint32 (NaN for anything else). */
export function parseIpv4(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4) return NaN;
  let v = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 255 || p === '') return NaN;
    v = v * 256 + n;
  }
  return v;
}

export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}
