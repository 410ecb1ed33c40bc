import { cellKey, fecLossPercent, type CellSpec } from './conditions.ts';
import { makePlan } from './impairment.ts';
import { jitterLabel } from './jitter.ts';
import { lossLabel, lossStats, nominalLossRate } from './loss-models.ts';
import type { MediaPath, Transmission } from './media-path.ts';
import type { ReceivedStream } from './receiver.ts';
import type { Scores } from './score.ts';
import type { ScoreOutcome, Scorer } from './scorer.ts';

/** Opus look-ahead at 48 kHz (2.5 ms + 4 ms delay compensation): part of every end-to-end delay. */
export const OPUS_LOOKAHEAD_MS = 6.5;

export interface CellResult extends Scores {
  key: string;
  path: string;
  fixture: string;
  bitrateKbps: number;
  loss: string;
  nominalLoss: number;
  fec: boolean;
  fecLossPercent: number;
  jitter: string;
  packets: number;
  meanPacketBytes: number;
  /** Share of packets the edge dropped. */
  networkLoss: number;
  /** Share the listener could not play in time (dropped, late or never delivered). */
  missing: number;
  late: number;
  fecRecovered: number;
  concealed: number;
  unexpectedLoss: number;
  /** Delay the jitter buffer and codec should add up to; `delayMs` is the measured one. */
  expectedDelayMs: number;
  /** Silence frames the path synthesised inside the clip (SFU silence tail under a stall). */
  insertedSilence: number;
  /** Largest RTP timestamp drift of a received frame from the sender's, in ms (what insertion costs). */
  driftMs: number;
}

export interface CellInput {
  spec: CellSpec;
  fixtureFile: string;
  packets: readonly Uint8Array[];
}

/**
 * Sends one cell through `path` (and `peer`), then plays it out, decodes and scores it on `scorer`. When the peer
 * delivered the very same packets at the same virtual times its scores are necessarily the same, so they are reused.
 */
export async function runCell(
  input: CellInput,
  path: MediaPath,
  scorer: Scorer,
  peer?: MediaPath,
): Promise<{ cell: CellResult; peer?: CellResult; sameDelivery?: boolean }> {
  const { spec, packets } = input;
  const plan = makePlan(spec.fixture, spec.loss, spec.jitter, packets.length);
  const rx = await path.transmit(packets, plan);
  const scored = await scorer.run({ fixtureFile: input.fixtureFile, rx: receiverTimeline(rx), fec: spec.fec });
  const cell = result(input, path.name, plan.drop, rx, scored);
  if (!peer) return { cell };
  const prx = await peer.transmit(packets, plan);
  const sameDelivery = sameStream(rx, prx);
  const pscored = sameDelivery
    ? scored
    : await scorer.run({ fixtureFile: input.fixtureFile, rx: receiverTimeline(prx), fec: spec.fec });
  return { cell, peer: result(input, peer.name, plan.drop, prx, pscored), sameDelivery };
}

const SILENCE = Uint8Array.of(0xf8, 0xff, 0xfe);

/**
 * What a receiver that plays out by RTP timestamp hears: silence the path synthesised inside the clip takes frame
 * slots of its own (its timestamps were allocated by the SFU's rewriter), so every later frame plays that much later.
 * The synthesised frames arrive `delayMs` after the frame they followed.
 */
export function receiverTimeline(rx: Transmission): ReceivedStream {
  const inserted = rx.inserted ?? [];
  if (inserted.length === 0) return { packets: rx.packets, arrivalMs: rx.arrivalMs };
  const packets: Array<Uint8Array | undefined> = [];
  const arrival: number[] = [];
  let k = 0;
  for (let i = 0; i < rx.packets.length; i++) {
    packets.push(rx.packets[i]);
    arrival.push(rx.arrivalMs[i]);
    while (k < inserted.length && inserted[k].after === i) {
      for (let j = 0; j < inserted[k].count; j++) {
        packets.push(SILENCE);
        arrival.push(rx.arrivalMs[i] + inserted[k].delayMs);
      }
      k++;
    }
  }
  return { packets, arrivalMs: Float64Array.from(arrival) };
}

function sameStream(a: Transmission, b: Transmission): boolean {
  if (a.packets.length !== b.packets.length) return false;
  if ((a.inserted?.length ?? 0) > 0 || (b.inserted?.length ?? 0) > 0) return false;
  for (let i = 0; i < a.packets.length; i++) {
    const x = a.packets[i];
    const y = b.packets[i];
    if (!(Object.is(a.arrivalMs[i], b.arrivalMs[i]) || (Number.isNaN(a.arrivalMs[i]) && Number.isNaN(b.arrivalMs[i]))))
      return false;
    if (x === undefined || y === undefined ? x !== y : Buffer.compare(x, y) !== 0) return false;
  }
  return true;
}

function result(
  input: CellInput,
  pathName: string,
  drop: Uint8Array,
  rx: Transmission,
  scored: ScoreOutcome,
): CellResult {
  const { spec, packets } = input;
  const { scores: s, playout } = scored;
  const missing = playout.lost + playout.late;
  return {
    key: cellKey(spec),
    path: pathName,
    fixture: spec.fixture,
    bitrateKbps: spec.bitrateKbps,
    loss: lossLabel(spec.loss),
    nominalLoss: nominalLossRate(spec.loss),
    fec: spec.fec,
    fecLossPercent: fecLossPercent(spec),
    jitter: jitterLabel(spec.jitter),
    packets: packets.length,
    meanPacketBytes: packets.reduce((n, p) => n + p.length, 0) / packets.length,
    networkLoss: lossStats(drop).rate,
    missing: missing / packets.length,
    late: playout.late,
    fecRecovered: playout.fecRecovered,
    concealed: playout.concealed,
    unexpectedLoss: rx.unexpectedLoss,
    expectedDelayMs: playout.playoutDelayMs + OPUS_LOOKAHEAD_MS,
    insertedSilence: (rx.inserted ?? []).reduce((n, s) => n + s.count, 0),
    driftMs: rx.driftMs ?? 0,
    ...s,
  };
}
