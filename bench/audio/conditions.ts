import { lossLabel, nominalLossRate, type LossSpec } from './loss-models.ts';
import { jitterLabel, type JitterSpec } from './jitter.ts';

/** The benchmark matrix: fixture × bitrate × loss model × FEC × jitter. */
export interface CellSpec {
  fixture: string;
  bitrateKbps: number;
  loss: LossSpec;
  fec: boolean;
  jitter: JitterSpec;
}

export interface Matrix {
  fixtures: string[];
  bitratesKbps: number[];
  losses: LossSpec[];
  fec: boolean[];
  jitters: JitterSpec[];
  /** Jitter spikes (stalls), run on the speech fixtures with no loss and FEC off: the silence-synthesis cells. */
  spikes: JitterSpec[];
}

/** Stalls of a busy sender or a congested hop, in the 200–500 ms range where the old 200 ms gap fired mid-talk. */
const SPIKES: JitterSpec[] = [
  { kind: 'spike', stallMs: 250 },
  { kind: 'spike', stallMs: 350 },
  { kind: 'spike', stallMs: 500 },
];

export const FULL_MATRIX: Matrix = {
  fixtures: [
    'speech-male',
    'speech-female',
    'speech-pauses',
    'music-tonal',
    'music-percussive',
    'tone-sweep',
    'noise-pink',
  ],
  bitratesKbps: [16, 24, 32, 64, 96, 128],
  losses: [
    { kind: 'none' },
    { kind: 'bernoulli', rate: 0.01 },
    { kind: 'bernoulli', rate: 0.05 },
    { kind: 'bernoulli', rate: 0.1 },
    { kind: 'bernoulli', rate: 0.2 },
    { kind: 'gilbert-elliott', meanLoss: 0.05, meanBurst: 3 },
  ],
  fec: [false, true],
  jitters: [{ kind: 'none' }, { kind: 'uniform', maxMs: 20 }],
  spikes: SPIKES,
};

/** CI-sized: two fixtures, two bitrates, three loss models. */
export const QUICK_MATRIX: Matrix = {
  fixtures: ['speech-female', 'music-tonal'],
  bitratesKbps: [24, 64],
  losses: [
    { kind: 'none' },
    { kind: 'bernoulli', rate: 0.05 },
    { kind: 'gilbert-elliott', meanLoss: 0.05, meanBurst: 3 },
  ],
  fec: [false, true],
  jitters: [{ kind: 'none' }, { kind: 'uniform', maxMs: 20 }],
  spikes: SPIKES,
};

export function expandMatrix(m: Matrix): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const fixture of m.fixtures)
    for (const bitrateKbps of m.bitratesKbps)
      for (const loss of m.losses)
        for (const fec of m.fec)
          for (const jitter of m.jitters) cells.push({ fixture, bitrateKbps, loss, fec, jitter });
  for (const fixture of m.fixtures.filter((f) => f.startsWith('speech')))
    for (const bitrateKbps of m.bitratesKbps)
      for (const jitter of m.spikes) cells.push({ fixture, bitrateKbps, loss: { kind: 'none' }, fec: false, jitter });
  return cells;
}

export function cellKey(c: CellSpec): string {
  return `${c.fixture}/${c.bitrateKbps}k/${lossLabel(c.loss)}/fec-${c.fec ? 'on' : 'off'}/jitter-${jitterLabel(c.jitter)}`;
}

/**
 * Loss the encoder provisions FEC for. A real sender learns it from receiver reports; the benchmark tells it the
 * condition's nominal rate (at least 5 %, below which libopus spends almost nothing on FEC).
 */
export function fecLossPercent(c: CellSpec): number {
  return c.fec ? Math.max(5, Math.round(nominalLossRate(c.loss) * 100)) : 0;
}
