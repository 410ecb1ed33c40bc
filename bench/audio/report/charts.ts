import type { CellResult } from '../cell.ts';
import {
  allLossLabels,
  distinct,
  lossAxisLabel,
  mean,
  METRIC_LABEL,
  randomLossLabels,
  speechScope,
  type Metric,
} from './aggregate.ts';
import { renderLineChart, type Series } from './svg-chart.ts';

/** The report's charts, by file name. Means are over fixtures unless a chart is per fixture. */
export function buildCharts(all: readonly CellResult[]): Record<string, string> {
  const charts: Record<string, string> = {};
  const { cells, label } = speechScope(all);
  const bitrates = distinct(cells.map((c) => c.bitrateKbps)).sort((a, b) => a - b);
  const fixtures = distinct(all.map((c) => c.fixture));
  const noJitter = (c: CellResult) => c.jitter === 'none';

  for (const fec of [false, true]) {
    const losses = randomLossLabels(cells);
    charts[`stoi-vs-loss-fec-${fec ? 'on' : 'off'}.svg`] = renderLineChart({
      title: `Intelligibility vs random packet loss, FEC ${fec ? 'on' : 'off'}`,
      subtitle: `${label}; no jitter; one line per Opus bitrate`,
      xLabel: 'packet loss (independent, Bernoulli)',
      yLabel: METRIC_LABEL.stoi,
      categories: losses.map(lossAxisLabel),
      series: bitrates.map((b) => ({
        name: `${b} kbps`,
        values: losses.map((l) =>
          mean(cells, 'stoi', (c) => noJitter(c) && c.fec === fec && c.bitrateKbps === b && c.loss === l),
        ),
      })),
    });
  }

  const losses = allLossLabels(cells);
  const fecBitrates = bitrates.length > 2 ? [bitrates[1], bitrates[Math.floor(bitrates.length / 2)]] : bitrates;
  const fecSeries: Series[] = [];
  fecBitrates.forEach((b, bi) => {
    for (const fec of [true, false]) {
      fecSeries.push({
        name: `${b} kbps, FEC ${fec ? 'on' : 'off'}`,
        color: bi,
        dashed: !fec,
        values: losses.map((l) =>
          mean(cells, 'stoi', (c) => noJitter(c) && c.fec === fec && c.bitrateKbps === b && c.loss === l),
        ),
      });
    }
  });
  charts['fec-vs-no-fec.svg'] = renderLineChart({
    title: 'In-band FEC vs none, by loss model',
    subtitle: `STOI, ${label}; no jitter; GE = Gilbert–Elliott bursts (mean loss, mean burst length b)`,
    xLabel: 'loss model',
    yLabel: METRIC_LABEL.stoi,
    categories: losses.map(lossAxisLabel),
    series: fecSeries,
  });

  const metrics: Metric[] = ['stoi', 'segSnrDb', 'lsdDb'];
  for (const metric of metrics) {
    charts[`${metric}-vs-bitrate.svg`] = renderLineChart({
      title: `Quality vs bitrate per fixture (${metric === 'stoi' ? 'STOI' : metric === 'segSnrDb' ? 'segmental SNR' : 'log-spectral distance'})`,
      subtitle: 'no loss, no jitter, FEC off',
      xLabel: 'Opus bitrate (kbps)',
      yLabel: METRIC_LABEL[metric],
      categories: bitrates.map(String),
      series: fixtures.map((fx) => ({
        name: fx,
        values: bitrates.map((b) =>
          mean(
            all,
            metric,
            (c) => c.fixture === fx && c.bitrateKbps === b && c.loss === 'none' && !c.fec && noJitter(c),
          ),
        ),
      })),
    });
  }
  return charts;
}
