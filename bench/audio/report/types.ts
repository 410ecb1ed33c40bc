import type { CellResult } from '../cell.ts';

/** Zero-impairment check: PCM decoded after the real path vs decoding the encoder's packets directly. */
export interface BitExactness {
  fixture: string;
  bitrateKbps: number;
  fec: boolean;
  packets: number;
  samplesCompared: number;
  /** Packets the path lost by itself (the relay dropped none). */
  lostInPath: number;
  /** Samples that differ between decoding what arrived and decoding the encoder's packets (@discordjs/opus both). */
  differingSamples: number;
  /** Samples where the loss-aware (WASM libopus) decoder disagrees with @discordjs/opus on the same packets. */
  decoderMismatches: number;
  /** Largest such disagreement, in 16-bit steps. */
  decoderMaxDelta: number;
  /** The path is bit-exact: nothing lost, every decoded sample identical. */
  identical: boolean;
}

export interface AudioReport {
  generatedAt: string;
  mode: 'full' | 'quick';
  /** The path every cell went through ("sfu" for the real signaling + SFU path). */
  path: string;
  /** The in-memory peer measured in the same run, for the ratio. */
  peerPath?: string;
  durationSec: number;
  jitterBufferTargetMs: number;
  cells: CellResult[];
  peerCells: CellResult[];
  /** Cells whose peer received byte-identical packets at identical times (scores then necessarily equal). */
  sameDelivery: number;
  bitExact: BitExactness[];
}
