import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import type { InboundFrame } from '../router.ts';
import { parseRtpHeader, type RtpHeader } from '../rtp/rtp-header.ts';
import { Transport, type OutgoingFrame } from '../transport.ts';

export const LOOPBACK = '127.0.0.1';

/**
 * Plain RTP over loopback is how a router talks to another media engine in this machine: mediasoup (the WebRTC
 * bridge) or the same channel's router in another process (the router pipe). These are their shared pieces.
 */
export async function bindLoopback(log: Logger, what: string): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, LOOPBACK, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => log.warn({ err: err.message }, `${what} socket error`));
  return socket;
}

/**
 * Reads a plain RTP packet into `frame` (the whole payload after header, extension and padding), or returns false for
 * RTCP (rtcp-mux: packet types 200–206 share the port, RFC 5761 §4), a bad header or an empty payload.
 */
export function readPlainRtp(msg: Buffer, h: RtpHeader, frame: InboundFrame): boolean {
  if (msg.length < 2 || (msg[1] >= 192 && msg[1] <= 223)) return false;
  if (!parseRtpHeader(msg, msg.length, h)) return false;
  const payloadOffset = h.rtpsizeHeaderLength + h.extensionWords * 4;
  const pad = h.padding ? msg[msg.length - 1] : 0;
  const payloadLength = msg.length - payloadOffset - pad;
  if (payloadLength <= 0) return false;
  frame.sequence = h.sequence;
  frame.timestamp = h.timestamp;
  frame.marker = h.marker;
  frame.data = msg;
  frame.offset = payloadOffset;
  frame.payloadOffset = payloadOffset;
  frame.payloadLength = payloadLength;
  return true;
}

/** A receiver whose copies leave the router as plain RTP: the router hands it frames, `relay` sends them on. */
export class RelayTransport extends Transport {
  constructor(
    ssrc: number,
    readonly kind: string,
    private readonly relay: (frame: OutgoingFrame) => void,
    private readonly onRelease: () => void,
  ) {
    super(ssrc);
  }

  send(frame: OutgoingFrame): void {
    this.relay(frame);
  }

  protected release(): void {
    this.onRelease();
  }
}
