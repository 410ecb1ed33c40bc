import fs from 'node:fs';
import path from 'node:path';
import { buildCharts } from './charts.ts';
import { renderMarkdown } from './markdown.ts';
import type { AudioReport } from './types.ts';

/** Writes report.json (every cell), summary.md and charts/*.svg into `dir`; returns the files written. */
export function writeReport(report: AudioReport, dir: string): string[] {
  fs.mkdirSync(path.join(dir, 'charts'), { recursive: true });
  const files: string[] = [];
  const put = (name: string, body: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, body);
    files.push(file);
  };
  // NaN is not JSON; a metric that is undefined for a cell (e.g. STOI on too little speech) becomes null.
  put(
    'report.json',
    JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n',
  );
  put('summary.md', renderMarkdown(report));
  for (const [name, svg] of Object.entries(buildCharts(report.cells))) put(path.join('charts', name), svg);
  return files;
}
