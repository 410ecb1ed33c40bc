import { FRAME_SAMPLES, LossAwareDecoder, SAMPLE_RATE } from './codec.ts';
import { schedulePlayout, type PlayoutResult } from './jitter-buffer.ts';

/**
 * The listening side of one cell: packets that reached the receiver (by frame index) with their arrival times go
 * through the jitter buffer and the decoder. The output starts at the sender's time zero, so it includes the
 * playout delay as leading silence and the end-to-end delay can be measured against the reference.
 */
export interface ReceivedStream {
  /** Payload of frame i, or undefined when it never arrived. */
  packets: Array<Uint8Array | undefined>;
  /** Arrival time of frame i in ms on the sender's clock (NaN when it never arrived). */
  arrivalMs: Float64Array;
}

export interface PlayedOut {
  pcm: Float32Array;
  playout: PlayoutResult;
}

export async function playOut(rx: ReceivedStream, fec: boolean, targetDelayMs?: number): Promise<PlayedOut> {
  const playout = schedulePlayout(rx.arrivalMs, { fec, targetDelayMs });
  const lead = Math.max(0, Math.round((playout.playoutDelayMs * SAMPLE_RATE) / 1000));
  const pcm = new Float32Array(lead + rx.packets.length * FRAME_SAMPLES);
  const dec = await LossAwareDecoder.create();
  try {
    let o = lead;
    playout.actions.forEach((action, i) => {
      const packet = rx.packets[i];
      const next = rx.packets[i + 1];
      const frame =
        action === 'packet' && packet
          ? dec.decode(packet)
          : action === 'fec' && next
            ? dec.decodeFec(next)
            : dec.conceal();
      pcm.set(frame.subarray(0, Math.min(frame.length, pcm.length - o)), o);
      o += frame.length;
    });
  } finally {
    dec.close();
  }
  return { pcm, playout };
}
