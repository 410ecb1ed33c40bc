/** What one emoji job returns and records beside its files (`<out>/<name>/emoji.json`). */
export interface EmojiOutput {
  file: string;
  format: 'png' | 'webp' | 'gif';
  size: number;
  width: number;
  height: number;
  bytes: number;
}

export interface EmojiResult {
  name: string;
  is_animated: boolean;
  sha256: string;
  frames: number;
  bytesIn: number;
  bytesOut: number;
  outputs: EmojiOutput[];
  /**
   * 1 − WebP/legacy bytes at the largest size (legacy = GIF for animated, PNG for static): how much smaller the
   * format we serve is than what old clients get, for the same pixels.
   */
  reduction: number;
}

export interface PackFailure {
  name: string;
  source: string;
  code: string;
  reason: string;
}

export interface PackSummary {
  dir: string;
  outDir: string;
  total: number;
  completed: number;
  failed: number;
  animated: number;
  files: number;
  bytesIn: number;
  bytesOut: number;
  reductionMedian: number;
  reductionP95: number;
  failures: PackFailure[];
}

/** Progress a pack job carries while its children run; the CLI and the dashboard read it. */
export interface PackProgress {
  done: number;
  failed: number;
  total: number;
}

export function quantile(values: number[], q: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
