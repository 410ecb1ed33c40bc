import type { CellResult } from '../cell.ts';
import { allLossLabels, distinct, lossAxisLabel, mean, speechScope } from './aggregate.ts';
import type { AudioReport } from './types.ts';

/** A one-page summary: what was run, whether the path is bit-exact, and the headline tables. */
export function renderMarkdown(r: AudioReport): string {
  const cells = r.cells;
  const bitrates = distinct(cells.map((c) => c.bitrateKbps)).sort((a, b) => a - b);
  const fixtures = distinct(cells.map((c) => c.fixture));
  const losses = allLossLabels(cells);
  const lines: string[] = [];
  lines.push(`# Audio quality report (${r.mode})`, '');
  lines.push(
    `Generated ${r.generatedAt} in ${r.durationSec.toFixed(0)} s: ${cells.length} cells through the **${r.path}** path` +
      (r.peerPath ? `, each also through the **${r.peerPath}** path for comparison` : '') +
      `. Jitter buffer target ${r.jitterBufferTargetMs} ms.`,
    '',
  );

  lines.push('## Bit-exactness (zero impairment)', '');
  if (!r.bitExact.length) lines.push('Not run.', '');
  else {
    const ok = r.bitExact.filter((b) => b.identical).length;
    lines.push(
      `${ok} of ${r.bitExact.length} streams (every fixture × bitrate × FEC) decode to identical PCM after the ${r.path} path.`,
      '',
    );
    lines.push(
      '| fixture | bitrate | FEC | packets | lost in path | samples | differing | identical | WASM decoder: samples off (max LSB) |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const b of r.bitExact) {
      lines.push(
        `| ${b.fixture} | ${b.bitrateKbps} kbps | ${b.fec ? 'on' : 'off'} | ${b.packets} | ${b.lostInPath} | ${b.samplesCompared} | ${b.differingSamples} | ${b.identical ? 'yes' : '**NO**'} | ${b.decoderMismatches} (${b.decoderMaxDelta}) |`,
      );
    }
    lines.push('');
  }

  const speech = speechScope(cells);
  lines.push(`## STOI by bitrate and loss (${speech.label}, no jitter): FEC off / FEC on`, '');
  lines.push(`| bitrate | ${losses.map(lossAxisLabel).join(' | ')} |`, `|---|${losses.map(() => '---').join('|')}|`);
  for (const b of bitrates) {
    const row = losses.map((l) => {
      const off = mean(
        speech.cells,
        'stoi',
        (c) => c.bitrateKbps === b && c.loss === l && !c.fec && c.jitter === 'none',
      );
      const on = mean(speech.cells, 'stoi', (c) => c.bitrateKbps === b && c.loss === l && c.fec && c.jitter === 'none');
      return `${n3(off)} / ${n3(on)}`;
    });
    lines.push(`| ${b} kbps | ${row.join(' | ')} |`);
  }
  lines.push('');

  lines.push('## Per fixture, no loss, no jitter, FEC off: STOI · segSNR dB · LSD dB', '');
  lines.push(
    `| fixture | ${bitrates.map((b) => `${b} kbps`).join(' | ')} |`,
    `|---|${bitrates.map(() => '---').join('|')}|`,
  );
  for (const fx of fixtures) {
    const row = bitrates.map((b) => {
      const w = (c: CellResult) =>
        c.fixture === fx && c.bitrateKbps === b && c.loss === 'none' && !c.fec && c.jitter === 'none';
      return `${n3(mean(cells, 'stoi', w))} · ${n1(mean(cells, 'segSnrDb', w))} · ${n1(mean(cells, 'lsdDb', w))}`;
    });
    lines.push(`| ${fx} | ${row.join(' | ')} |`);
  }
  lines.push('');

  lines.push('## Jitter: end-to-end delay and late packets (all cells)', '');
  lines.push(
    '| jitter | measured delay ms (mean) | expected delay ms (mean) | late packets / cell | delay estimate off by > 1 ms |',
    '|---|---|---|---|---|',
  );
  for (const j of distinct(cells.map((c) => c.jitter))) {
    const js = cells.filter((c) => c.jitter === j);
    const late = js.reduce((n, c) => n + c.late, 0) / js.length;
    const off = js.filter((c) => Math.abs(c.delayMs - c.expectedDelayMs) > 1).length;
    lines.push(
      `| ${j} | ${n1(mean(js, 'delayMs', () => true))} | ${n1(js.reduce((n, c) => n + c.expectedDelayMs, 0) / js.length)} | ${n1(late)} | ${off} of ${js.length} |`,
    );
  }
  lines.push('');

  if (r.peerCells.length) {
    lines.push(`## ${r.path} path vs ${r.peerPath} path (same impairments)`, '');
    const peer = new Map(r.peerCells.map((c) => [c.key, c]));
    const pairs = cells
      .map((c) => [c, peer.get(c.key)] as const)
      .filter((p): p is readonly [CellResult, CellResult] => !!p[1]);
    const same = pairs.filter(([a, b]) => a.stoi === b.stoi && a.segSnrDb === b.segSnrDb && a.lsdDb === b.lsdDb).length;
    const ratio = mean(cells, 'stoi', () => true) / mean(r.peerCells, 'stoi', () => true);
    const unexpected = cells.reduce((n, c) => n + c.unexpectedLoss, 0);
    lines.push(
      `- cells where both paths delivered byte-identical packets at identical times: ${r.sameDelivery} of ${pairs.length}`,
    );
    lines.push(`- cells with identical scores: ${same} of ${pairs.length}`);
    lines.push(`- mean STOI ratio (${r.path} / ${r.peerPath}): ${ratio.toFixed(4)}`);
    lines.push(`- packets lost by the path itself (not by the impairment relay): ${unexpected}`, '');
  }

  lines.push('## Charts', '');
  lines.push(
    '- `charts/stoi-vs-loss-fec-off.svg`, `charts/stoi-vs-loss-fec-on.svg`: quality vs random loss, one line per bitrate',
  );
  lines.push('- `charts/fec-vs-no-fec.svg`: FEC on (solid) vs off (dashed) across loss models');
  lines.push(
    '- `charts/stoi-vs-bitrate.svg`, `charts/segSnrDb-vs-bitrate.svg`, `charts/lsdDb-vs-bitrate.svg`: quality vs bitrate per fixture',
  );
  lines.push('', 'Every cell with all its figures is in `report.json`.', '');
  return lines.join('\n');
}

function n3(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : '–';
}

function n1(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1) : '–';
}
