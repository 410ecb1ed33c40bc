/**
 * Silence synthesis under jitter spikes (issue 11 item 6): the jitter-spike cells sent through the real SFU once per
 * synthesis setting, scored like every cell against the in-memory path (which never synthesises), with the RTP
 * timestamp drift each setting causes for the receiver. The default of SFU_SILENCE_SYNTHESIS comes from this table.
 */
import { runCell, type CellInput, type CellResult } from './cell.ts';
import type { MediaPath } from './media-path.ts';
import { mean } from './report/aggregate.ts';
import type { Scorer } from './scorer.ts';
import { SfuPath } from './sfu-path.ts';

export interface SynthesisVariant {
  name: string;
  env: Record<string, string>;
}

export const SYNTHESIS_VARIANTS: SynthesisVariant[] = [
  { name: 'gap 200 ms (before)', env: { SFU_SILENCE_SYNTHESIS: 'gap', SFU_SILENCE_GAP_MS: '200' } },
  { name: 'gap 1000 ms', env: { SFU_SILENCE_SYNTHESIS: 'gap', SFU_SILENCE_GAP_MS: '1000' } },
  { name: 'vanish / speaking-off', env: { SFU_SILENCE_SYNTHESIS: 'vanish' } },
];

export interface SynthesisRow {
  variant: string;
  cells: number;
  stoi: number;
  segSnrDb: number;
  /** Mean over cells of the largest timestamp drift a received frame had (ms). */
  driftMs: number;
  /** Cells where the SFU inserted silence mid-spurt. */
  cellsWithInsertion: number;
  insertedFrames: number;
  /** The same cells through the in-memory path (no SFU, no synthesis). */
  baselineStoi: number;
  baselineSegSnrDb: number;
  results: CellResult[];
}

export async function compareSilenceSynthesis(
  inputs: readonly CellInput[],
  scorer: Scorer,
  peer: MediaPath,
  variants: readonly SynthesisVariant[] = SYNTHESIS_VARIANTS,
): Promise<SynthesisRow[]> {
  const rows: SynthesisRow[] = [];
  for (const v of variants) {
    const path = await SfuPath.open({ env: v.env });
    try {
      const results: CellResult[] = [];
      const peers: CellResult[] = [];
      for (const input of inputs) {
        const r = await runCell(input, path, scorer, peer);
        results.push(r.cell);
        if (r.peer) peers.push(r.peer);
      }
      const all = () => true;
      rows.push({
        variant: v.name,
        cells: results.length,
        stoi: mean(results, 'stoi', all),
        segSnrDb: mean(results, 'segSnrDb', all),
        driftMs: results.reduce((s, c) => s + Math.abs(c.driftMs), 0) / Math.max(1, results.length),
        cellsWithInsertion: results.filter((c) => c.insertedSilence > 0).length,
        insertedFrames: results.reduce((s, c) => s + c.insertedSilence, 0),
        baselineStoi: mean(peers, 'stoi', all),
        baselineSegSnrDb: mean(peers, 'segSnrDb', all),
        results,
      });
    } finally {
      await path.close();
    }
  }
  return rows;
}
