import type { CellResult } from '../cell.ts';

/** Zero-impairment check: PCM decoded after the real path vs decoding the encoder's packets directly. */
export interface BitExactness {
  fixture: string;
  bitrateKbps: number;
  fec: boolean;
  packets: number;
  samplesCompared: number;
  differingSamples: number;
  /** Samples where the loss-aware (WASM libopus) decoder disagrees with @discordjs/opus on the same packets. */
  decoderMismatches: number;
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
