import type { ImpairmentPlan } from './impairment.ts';
import { deliveryOrder } from './impairment.ts';
import type { ReceivedStream } from './receiver.ts';
import type { Insertion } from './cell-collector.ts';

/** How a cell's packets get from the sending client to the listening one. */
export interface MediaPath {
  readonly name: string;
  /** Sends one cell's packets with `plan` applied at the network edge; resolves with what the listener got. */
  transmit(packets: readonly Uint8Array[], plan: ImpairmentPlan): Promise<Transmission>;
  close(): Promise<void>;
}

export interface Transmission extends ReceivedStream {
  /** Packets the plan let through that still never reached the listener (should be 0). */
  unexpectedLoss: number;
  /** Silence the path synthesised inside the cell (the SFU's silence tail under a stall). */
  inserted?: Insertion[];
  /** Largest RTP timestamp drift of a received frame from the sender's (ms). */
  driftMs?: number;
}

/** Arrival times on the sender's clock for the packets that did arrive, from the plan's virtual delays. */
export function arrivalTimes(plan: ImpairmentPlan, received: ArrayLike<unknown>, frameMs = 20): Float64Array {
  const out = new Float64Array(plan.drop.length).fill(NaN);
  for (let i = 0; i < out.length; i++) if (received[i] !== undefined) out[i] = i * frameMs + plan.delayMs[i];
  return out;
}

/**
 * The same impairments applied in memory, with no sockets, crypto or SFU: the peer the SFU path is compared to, so a
 * ratio of 1 means the real path costs nothing.
 */
export class MemoryPath implements MediaPath {
  readonly name = 'memory';

  async transmit(packets: readonly Uint8Array[], plan: ImpairmentPlan): Promise<Transmission> {
    const rx: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(packets.length).fill(undefined);
    for (const i of deliveryOrder(plan)) rx[i] = packets[i];
    return { packets: rx, arrivalMs: arrivalTimes(plan, rx), unexpectedLoss: 0 };
  }

  async close(): Promise<void> {}
}
