import type { CellResult } from '../cell.ts';

export type Metric = 'stoi' | 'segSnrDb' | 'lsdDb' | 'delayMs';

export const METRIC_LABEL: Record<Metric, string> = {
  stoi: 'STOI (0–1, higher is better)',
  segSnrDb: 'segmental SNR (dB, higher is better)',
  lsdDb: 'log-spectral distance (dB, lower is better)',
  delayMs: 'end-to-end delay (ms)',
};

/** Mean of `metric` over the cells matching `where` (NaN scores, e.g. STOI of a silent clip, are left out). */
export function mean(cells: readonly CellResult[], metric: Metric, where: (c: CellResult) => boolean): number {
  let sum = 0;
  let n = 0;
  for (const c of cells) {
    if (!where(c)) continue;
    const v = c[metric];
    if (!Number.isFinite(v)) continue;
    sum += v;
    n++;
  }
  return n ? sum / n : NaN;
}

export function distinct<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/** Random-loss conditions in ascending order, with "none" first as 0 %. */
export function randomLossLabels(cells: readonly CellResult[]): string[] {
  return distinct(cells.filter((c) => c.loss === 'none' || c.loss.startsWith('random-')).map((c) => c.loss)).sort(
    (a, b) => lossOrder(a) - lossOrder(b),
  );
}

export function allLossLabels(cells: readonly CellResult[]): string[] {
  return distinct(cells.map((c) => c.loss)).sort((a, b) => lossOrder(a) - lossOrder(b));
}

function lossOrder(label: string): number {
  if (label === 'none') return -1;
  const m = /(\d+(?:\.\d+)?)%/.exec(label);
  return (m ? Number(m[1]) : 0) + (label.startsWith('burst') ? 1000 : 0);
}

export function lossAxisLabel(label: string): string {
  if (label === 'none') return '0%';
  if (label.startsWith('random-')) return label.slice('random-'.length);
  return label.replace('burst-', 'GE ').replace('-len', ' b');
}

/** STOI is a speech measure: loss charts and tables average over the speech fixtures when the run has any. */
export function speechScope(cells: readonly CellResult[]): { cells: CellResult[]; label: string } {
  const all = distinct(cells.map((c) => c.fixture));
  const speech = all.filter((f) => f.startsWith('speech'));
  const chosen = speech.length ? speech : all;
  return {
    cells: cells.filter((c) => chosen.includes(c.fixture)),
    label: speech.length ? `mean over the ${speech.length} speech fixtures` : `mean over ${all.length} fixtures`,
  };
}
