/**
 * Test-side helpers for the WebRTC engine: the "worker must exist" guard (a missing worker fails, naming the setup
 * command, rather than skipping) and a plain-RTP peer on loopback that stands in for a browser's media (Node has no
 * WebRTC stack; the browser path proper is tested in headless Chromium under test/webrtc).
 */
import { createSocket, type Socket } from 'node:dgram';
import type { types as ms } from 'mediasoup';
import {
  AUDIO_LEVEL_URI,
  createRtpHeader,
  parseRtpHeader,
  resolveWorkerBin,
  SETUP_COMMAND,
  WEBRTC_OPUS_PT,
  writeRtpHeader,
} from '../../sfu/index.ts';

/** Fails (does not skip) when the worker binary is missing: CI builds it in set-up, developers run the command. */
export async function requireWorker(): Promise<void> {
  const bin = await resolveWorkerBin();
  if (!bin.ok) throw new Error(`mediasoup worker unavailable — run \`${SETUP_COMMAND}\` first: ${bin.reason}`);
}

export interface PlainFrame {
  ssrc: number;
  sequence: number;
  timestamp: number;
  payload: Buffer;
}

const AUDIO_LEVEL_EXT_ID = 1;

/** One loopback PlainTransport on a mediasoup router and the Node socket at its other end. */
export class PlainPeer {
  readonly frames: PlainFrame[] = [];
  private seq = Math.floor(Math.random() * 0xffff);
  private ts = Math.floor(Math.random() * 0xffffffff) >>> 0;
  private readonly header = createRtpHeader();

  private constructor(
    readonly transport: ms.PlainTransport,
    readonly socket: Socket,
  ) {
    socket.on('message', (msg) => {
      if (msg[1] >= 192 && msg[1] <= 223) return; // RTCP
      if (!parseRtpHeader(msg, msg.length, this.header)) return;
      const start = this.header.rtpsizeHeaderLength + this.header.extensionWords * 4;
      this.frames.push({
        ssrc: this.header.ssrc,
        sequence: this.header.sequence,
        timestamp: this.header.timestamp,
        payload: Buffer.from(msg.subarray(start)),
      });
    });
  }

  static async open(router: ms.Router): Promise<PlainPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const transport = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      rtcpMux: true,
      comedia: false,
    });
    await transport.connect({ ip: '127.0.0.1', port: socket.address().port });
    return new PlainPeer(transport, socket);
  }

  /** Receives `producer`'s stream; returns the wire SSRC it arrives with. */
  async consume(producer: ms.Producer): Promise<number> {
    const c = await this.transport.consume({
      producerId: producer.id,
      rtpCapabilities: {
        codecs: [
          {
            kind: 'audio',
            mimeType: 'audio/opus',
            clockRate: 48000,
            channels: 2,
            preferredPayloadType: WEBRTC_OPUS_PT,
          },
        ],
        headerExtensions: [],
      },
    });
    return c.rtpParameters.encodings![0].ssrc!;
  }

  /** A microphone-like Producer with `ssrc`, carrying the ssrc-audio-level extension like Chromium's. */
  produce(ssrc: number, userId: string): Promise<ms.Producer> {
    return this.transport.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: WEBRTC_OPUS_PT }],
        encodings: [{ ssrc }],
        headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_EXT_ID }],
        rtcp: { cname: userId },
      },
      appData: { userId },
    });
  }

  /** Sends one Opus frame as `ssrc`, with an audio level of -`levelDb` dBov (0 = loudest, 127 = silence). */
  send(ssrc: number, payload: Uint8Array, levelDb = 20): void {
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + 960) >>> 0;
    const pkt = Buffer.alloc(12 + 8 + payload.length);
    writeRtpHeader(pkt, WEBRTC_OPUS_PT, false, this.seq, this.ts, ssrc, true);
    // One-byte extension block (RFC 8285): 0xBEDE, 1 word; element id 1, length 1 (L=0), V bit + level, padding.
    pkt.writeUInt16BE(0xbede, 12);
    pkt.writeUInt16BE(1, 14);
    pkt[16] = (AUDIO_LEVEL_EXT_ID << 4) | 0;
    pkt[17] = 0x80 | (levelDb & 0x7f);
    pkt.set(payload, 20);
    this.socket.send(pkt, this.transport.tuple.localPort, '127.0.0.1');
  }

  close(): void {
    this.transport.close();
    this.socket.close();
  }
}
