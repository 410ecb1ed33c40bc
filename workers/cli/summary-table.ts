import type { PackSummary } from '../emoji-types.ts';
import { bytes, pct, table } from './format.ts';

/** The end-of-run report: totals, the WebP-vs-legacy reduction, and every failure with its reason. */
export function summaryTable(s: PackSummary): string {
  const parts = [
    `pack ${s.dir} -> ${s.outDir}`,
    table([
      ['emojis', `${s.total} (${s.animated} animated)`],
      ['completed', String(s.completed)],
      ['failed', String(s.failed)],
      ['files written', String(s.files)],
      ['bytes before', bytes(s.bytesIn)],
      ['bytes after', `${bytes(s.bytesOut)} (all sizes and formats)`],
      ['reduction median', `${pct(s.reductionMedian)} (WebP vs GIF/PNG at the largest size)`],
      ['reduction p95', pct(s.reductionP95)],
    ]),
  ];
  if (s.failures.length) {
    parts.push(
      'failures',
      table([
        ['name', 'code', 'reason'],
        ...s.failures.map((f) => [f.name, f.code, reasonWithoutCode(f.code, f.reason)]),
      ]),
    );
  }
  return parts.join('\n') + '\n';
}

/** The code has its own column: "invalid_image: corrupt_image: …" reads "corrupt_image: …" beside it. */
export function reasonWithoutCode(code: string, reason: string): string {
  return reason.startsWith(`${code}: `) ? reason.slice(code.length + 2) : reason;
}
