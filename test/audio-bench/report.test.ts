import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { niceTicks, renderLineChart, writeReport, type AudioReport, type CellResult } from '../../bench/audio/index.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-audio-report-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function cell(over: Partial<CellResult>): CellResult {
  return {
    key: 'k',
    path: 'sfu',
    fixture: 'speech-male',
    bitrateKbps: 24,
    loss: 'none',
    nominalLoss: 0,
    fec: false,
    fecLossPercent: 0,
    jitter: 'none',
    packets: 201,
    meanPacketBytes: 60,
    networkLoss: 0,
    missing: 0,
    late: 0,
    fecRecovered: 0,
    concealed: 0,
    unexpectedLoss: 0,
    expectedDelayMs: 66.5,
    insertedSilence: 0,
    driftMs: 0,
    stoi: 0.95,
    segSnrDb: 10,
    lsdDb: 5,
    delayMs: 66.5,
    ...over,
  };
}

describe('report writer', () => {
  it('writes JSON with every cell (NaN as null), a markdown summary and the charts', () => {
    const cells: CellResult[] = [];
    for (const bitrateKbps of [24, 64])
      for (const loss of ['none', 'random-5%', 'burst-5%-len3'])
        for (const fec of [false, true])
          cells.push(
            cell({ key: `${bitrateKbps}/${loss}/${fec}`, bitrateKbps, loss, fec, stoi: loss === 'none' ? 0.99 : 0.9 }),
          );
    cells[0].stoi = NaN;
    const report: AudioReport = {
      generatedAt: '2026-01-01T00:00:00Z',
      mode: 'quick',
      path: 'sfu',
      peerPath: 'memory',
      durationSec: 1,
      jitterBufferTargetMs: 40,
      cells,
      peerCells: cells.map((c) => ({ ...c, path: 'memory' })),
      sameDelivery: cells.length,
      bitExact: [
        {
          fixture: 'speech-male',
          bitrateKbps: 24,
          fec: false,
          packets: 201,
          samplesCompared: 192960,
          lostInPath: 0,
          differingSamples: 0,
          decoderMismatches: 0,
          decoderMaxDelta: 0,
          identical: true,
        },
      ],
    };
    const files = writeReport(report, dir);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as AudioReport;
    expect(json.cells).toHaveLength(cells.length);
    expect(json.cells[0].stoi).toBeNull();
    const md = fs.readFileSync(path.join(dir, 'summary.md'), 'utf8');
    expect(md).toContain('| 24 kbps |');
    expect(md).toContain('byte-identical packets at identical times: 12 of 12');
    const svgs = files.filter((f) => f.endsWith('.svg'));
    expect(svgs.map((f) => path.basename(f)).sort()).toEqual([
      'fec-vs-no-fec.svg',
      'lsdDb-vs-bitrate.svg',
      'segSnrDb-vs-bitrate.svg',
      'stoi-vs-bitrate.svg',
      'stoi-vs-loss-fec-off.svg',
      'stoi-vs-loss-fec-on.svg',
    ]);
    for (const f of svgs) {
      const svg = fs.readFileSync(f, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trim().endsWith('</svg>')).toBe(true);
      expect(svg).not.toContain('NaN');
    }
  });

  it('draws one path per series and escapes labels', () => {
    const svg = renderLineChart({
      title: 'a < b & c',
      xLabel: 'x',
      yLabel: 'y',
      categories: ['1', '2', '3'],
      series: [
        { name: 's1', values: [1, 2, 3] },
        { name: 's2', values: [3, NaN, 1], dashed: true },
      ],
    });
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('a &lt; b &amp; c');
    expect(svg).toContain('stroke-dasharray');
  });

  it('picks round ticks covering the range', () => {
    expect(niceTicks(0.81, 0.99, 6)).toEqual([0.8, 0.85, 0.9, 0.95, 1]);
    expect(niceTicks(0, 35, 6)).toEqual([0, 10, 20, 30, 40]);
  });
});
