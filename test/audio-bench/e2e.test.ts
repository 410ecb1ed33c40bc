import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InlineScorer,
  MemoryPath,
  runAudioBenchmark,
  SfuPath,
  writeReport,
  type AudioReport,
  type CellSpec,
} from '../../bench/audio/index.ts';

/** One fixture, two conditions, through the real signaling + SFU path: keeps the whole harness from rotting. */
describe('audio bench end to end through the SFU', () => {
  let sfu: SfuPath;
  let report: AudioReport;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-audio-e2e-'));
  const cells: CellSpec[] = [
    { fixture: 'speech-female', bitrateKbps: 24, loss: { kind: 'none' }, fec: false, jitter: { kind: 'none' } },
    {
      fixture: 'speech-female',
      bitrateKbps: 24,
      loss: { kind: 'gilbert-elliott', meanLoss: 0.05, meanBurst: 3 },
      fec: true,
      jitter: { kind: 'uniform', maxMs: 20 },
    },
  ];

  beforeAll(async () => {
    sfu = await SfuPath.open();
    report = await runAudioBenchmark({
      quick: true,
      cells,
      path: sfu,
      peer: new MemoryPath(),
      scorer: new InlineScorer(),
      concurrency: 2,
    });
  }, 60_000);
  afterAll(async () => {
    await sfu?.close();
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('decodes bit-identical PCM after the SFU at zero impairment', () => {
    expect(report.bitExact).toHaveLength(1);
    expect(report.bitExact[0]).toMatchObject({ identical: true, differingSamples: 0, lostInPath: 0 });
    expect(report.bitExact[0].samplesCompared).toBeGreaterThan(48000 * 4);
  });

  it('delivers exactly what the relay let through, so scores equal the in-memory path', () => {
    expect(report.path).toMatch(/^sfu \(/);
    expect(report.sameDelivery).toBe(2);
    for (const [i, c] of report.cells.entries()) {
      expect(c.unexpectedLoss).toBe(0);
      expect(c.stoi).toBe(report.peerCells[i].stoi);
      expect(Math.abs(c.delayMs - c.expectedDelayMs)).toBeLessThanOrEqual(1);
    }
  });

  it('scores the clean cell high and recovers part of the bursty one with FEC', () => {
    const [clean, bursty] = report.cells;
    expect(clean.stoi).toBeGreaterThan(0.9);
    expect(clean.missing).toBe(0);
    expect(bursty.networkLoss).toBeGreaterThan(0);
    expect(bursty.fecRecovered).toBeGreaterThan(0);
    expect(bursty.stoi).toBeLessThanOrEqual(clean.stoi);
  });

  it('writes the report files', () => {
    writeReport(report, out);
    expect(fs.readFileSync(path.join(out, 'summary.md'), 'utf8')).toContain('| speech-female | 24 kbps | off |');
    expect(fs.existsSync(path.join(out, 'charts', 'fec-vs-no-fec.svg'))).toBe(true);
  });
});
