import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { emit, ratio, round } from '../_harness.ts';
import { MemoryPath, type MediaPath } from './media-path.ts';
import { mean } from './report/aggregate.ts';
import type { AudioReport } from './report/types.ts';
import { writeReport } from './report/write-report.ts';
import fs from 'node:fs';
import { expandMatrix, FULL_MATRIX, QUICK_MATRIX } from './conditions.ts';
import { encodeCell, FIXTURES_DIR, fixtureFile, runAudioBenchmark } from './run.ts';
import { compareSilenceSynthesis, type SynthesisRow } from './silence-synthesis.ts';
import { SfuPath } from './sfu-path.ts';
import { InlineScorer, WorkerScorer, type Scorer } from './scorer.ts';

const USAGE = `npm run bench -- audio [--quick] [--path sfu|memory] [--out DIR] [--workers N]

  Runs the audio quality matrix (fixtures × bitrate × loss × FEC × jitter) and writes report.json, summary.md and
  charts/*.svg to DIR (default reports/audio). --path sfu (default) sends every cell through the real signaling +
  SFU path and compares it with the in-memory path; --path memory skips the network entirely.`;

export const DEFAULT_REPORT_DIR = path.resolve(import.meta.dirname, '..', '..', 'reports', 'audio');

export async function audioBench(argv: string[]): Promise<AudioReport> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      path: { type: 'string', default: 'sfu' },
      out: { type: 'string', default: DEFAULT_REPORT_DIR },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.path !== 'sfu' && values.path !== 'memory')
    throw new Error(`--path must be sfu or memory, got ${values.path}`);
  const workers = values.workers === undefined ? os.availableParallelism() : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0) throw new Error('--workers must be a non-negative integer');
  const memory = new MemoryPath();
  let main: MediaPath = memory;
  let peer: MediaPath | undefined;
  if (values.path === 'sfu') {
    main = await SfuPath.open();
    peer = memory;
  }
  const scorer: Scorer = workers > 0 ? new WorkerScorer(workers) : new InlineScorer();
  try {
    const report = await runAudioBenchmark({
      quick: values.quick,
      path: main,
      peer,
      scorer,
      log: (l) => console.error(l),
    });
    const files = writeReport(report, values.out);
    emitFigures(report);
    if (values.path === 'sfu') {
      const spikes = expandMatrix(values.quick ? QUICK_MATRIX : FULL_MATRIX).filter((s) => s.jitter.kind === 'spike');
      const inputs = spikes.map((spec) => ({
        spec,
        fixtureFile: fixtureFile(FIXTURES_DIR, spec.fixture),
        packets: encodeCell(FIXTURES_DIR, spec),
      }));
      const rows = await compareSilenceSynthesis(inputs, scorer, memory);
      emitSynthesis(rows, report.mode);
      const file = path.join(values.out, 'silence-synthesis.json');
      fs.writeFileSync(file, JSON.stringify(rows, null, 2));
      files.push(file);
    }
    console.error(`audio-bench: wrote ${files.length} files to ${values.out}`);
    return report;
  } finally {
    await scorer.close();
    await main.close();
  }
}

/** One line per synthesis setting over the jitter-spike cells, the in-memory path (no synthesis) as baseline. */
function emitSynthesis(rows: SynthesisRow[], mode: string): void {
  for (const r of rows) {
    emit({
      bench: 'audio',
      mode,
      figure: 'silence_synthesis_jitter_spikes',
      variant: r.variant,
      cells: r.cells,
      stoi: round(r.stoi, 4),
      segSnrDb: round(r.segSnrDb, 2),
      driftMs: round(r.driftMs, 1),
      cellsWithInsertion: r.cellsWithInsertion,
      insertedFrames: r.insertedFrames,
      baselinePath: 'memory',
      baseline: round(r.baselineStoi, 4),
      baselineSegSnrDb: round(r.baselineSegSnrDb, 2),
      ratio: ratio(r.stoi, r.baselineStoi),
      ratioSegSnr: ratio(r.segSnrDb, r.baselineSegSnrDb),
    });
  }
}

/** One JSON line per headline figure, each with the peer measured in the same run and the ratio. */
function emitFigures(r: AudioReport): void {
  const base = { bench: 'audio', mode: r.mode, path: r.path };
  const peerCells = r.peerCells.length ? r.peerCells : r.cells;
  for (const metric of ['stoi', 'segSnrDb', 'lsdDb', 'delayMs'] as const) {
    const ours = mean(r.cells, metric, () => true);
    const peer = mean(peerCells, metric, () => true);
    emit({
      ...base,
      figure: `mean_${metric}`,
      value: round(ours, 4),
      baseline: round(peer, 4),
      baselinePath: r.peerPath ?? r.path,
      ratio: ratio(ours, peer),
    });
  }
  const exact = r.bitExact.filter((b) => b.identical).length;
  emit({
    ...base,
    figure: 'bit_exact_streams',
    value: exact,
    baseline: r.bitExact.length,
    baselinePath: 'direct-decode',
    ratio: ratio(exact, r.bitExact.length),
  });
  emit({
    ...base,
    figure: 'cells',
    value: r.cells.length,
    durationSec: round(r.durationSec, 1),
    cellsPerSec: round(r.cells.length / r.durationSec, 2),
  });
}
