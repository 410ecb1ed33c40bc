/**
 * Receiver playout: a fixed-delay jitter buffer in virtual time. Playout starts `targetDelayMs` after the first packet
 * arrives and then takes one frame every `frameMs`; a frame that has not arrived by its playout instant is missing
 * (lost or late) and is rebuilt from the next packet's in-band FEC when that packet is already buffered, else
 * concealed (PLC). Virtual time lets every cell run faster than real time yet see exactly the delays it models.
 */
export type PlayoutAction = 'packet' | 'fec' | 'plc';

export interface PlayoutOptions {
  frameMs?: number;
  targetDelayMs?: number;
  /** Use the next packet's FEC data for a missing frame (the decoder must be able to decode it). */
  fec: boolean;
}

export interface PlayoutResult {
  /** What the decoder does for each frame index. */
  actions: PlayoutAction[];
  /** Playout instant minus send instant, the same for every frame (ms). */
  playoutDelayMs: number;
  /** Frames that never arrived. */
  lost: number;
  /** Frames that arrived after their playout instant (discarded). */
  late: number;
  fecRecovered: number;
  concealed: number;
}

/** Roughly what an adaptive buffer (NetEq) settles on for ±20 ms jitter: it absorbs it all, at the cost of delay. */
export const DEFAULT_TARGET_DELAY_MS = 40;

/** `arrivalMs[i]` is frame i's arrival time (its send time is i·frameMs), or NaN when the network dropped it. */
export function schedulePlayout(arrivalMs: Float64Array, opts: PlayoutOptions): PlayoutResult {
  const frameMs = opts.frameMs ?? 20;
  const target = opts.targetDelayMs ?? DEFAULT_TARGET_DELAY_MS;
  const n = arrivalMs.length;
  let first = -1;
  for (let i = 0; i < n; i++)
    if (!Number.isNaN(arrivalMs[i]) && (first < 0 || arrivalMs[i] < arrivalMs[first])) first = i;
  const actions: PlayoutAction[] = new Array<PlayoutAction>(n).fill('plc');
  const result: PlayoutResult = { actions, playoutDelayMs: 0, lost: 0, late: 0, fecRecovered: 0, concealed: 0 };
  if (first < 0) {
    result.lost = n;
    result.concealed = n;
    return result;
  }
  const start = arrivalMs[first] + target - first * frameMs;
  result.playoutDelayMs = start;
  const inTime = (i: number) => i < n && !Number.isNaN(arrivalMs[i]) && arrivalMs[i] <= start + i * frameMs;
  for (let i = 0; i < n; i++) {
    if (inTime(i)) {
      actions[i] = 'packet';
      continue;
    }
    if (Number.isNaN(arrivalMs[i])) result.lost++;
    else result.late++;
    // The next packet must already be in the buffer when frame i is due.
    if (opts.fec && i + 1 < n && !Number.isNaN(arrivalMs[i + 1]) && arrivalMs[i + 1] <= start + i * frameMs) {
      actions[i] = 'fec';
      result.fecRecovered++;
    } else {
      result.concealed++;
    }
  }
  return result;
}
