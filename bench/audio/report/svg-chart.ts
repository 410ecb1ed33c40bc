/**
 * A small line-chart renderer producing standalone SVG. The registry chart libraries either need a browser/canvas to
 * render or bring a large grammar (vega) for what is three kinds of line chart; ~150 lines keeps the report
 * dependency-free and byte-stable for the committed README chart.
 */
export interface Series {
  name: string;
  /** One value per x category; NaN leaves a gap. */
  values: number[];
  dashed?: boolean;
  /** Index into the palette; series sharing a colour (e.g. FEC on/off of one bitrate) pass the same one. */
  color?: number;
}

export interface LineChart {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  series: Series[];
  yMin?: number;
  yMax?: number;
}

// Okabe–Ito: distinguishable with the common colour-vision deficiencies.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];
const W = 760;
const H = 420;
const M = { left: 64, right: 190, top: 58, bottom: 56 };

export function renderLineChart(c: LineChart): string {
  const finite = c.series.flatMap((s) => s.values.filter(Number.isFinite));
  let lo = c.yMin ?? Math.min(...finite);
  let hi = c.yMax ?? Math.max(...finite);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const ticks = niceTicks(lo, hi, 6);
  lo = Math.min(lo, ticks[0]);
  hi = Math.max(hi, ticks[ticks.length - 1]);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const n = c.categories.length;
  const x = (i: number) => M.left + (n === 1 ? pw / 2 : (i * pw) / (n - 1));
  const y = (v: number) => M.top + ph - ((v - lo) / (hi - lo)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="24" font-size="16" font-weight="bold">${esc(c.title)}</text>`);
  if (c.subtitle) out.push(`<text x="${M.left}" y="42" fill="#555">${esc(c.subtitle)}</text>`);
  for (const t of ticks) {
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${f(y(t))}" y2="${f(y(t))}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${M.left - 8}" y="${f(y(t) + 4)}" text-anchor="end" fill="#333">${fmt(t)}</text>`);
  }
  c.categories.forEach((cat, i) => {
    out.push(`<line x1="${f(x(i))}" x2="${f(x(i))}" y1="${M.top + ph}" y2="${M.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${f(x(i))}" y="${M.top + ph + 19}" text-anchor="middle" fill="#333">${esc(cat)}</text>`);
  });
  out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#333"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`,
  );
  c.series.forEach((s, si) => {
    const color = PALETTE[(s.color ?? si) % PALETTE.length];
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${f(x(i))} ${f(y(v))} `;
      pen = true;
    });
    out.push(`<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    s.values.forEach((v, i) => {
      if (Number.isFinite(v))
        out.push(
          `<circle cx="${f(x(i))}" cy="${f(y(v))}" r="3" fill="${s.dashed ? '#fff' : color}" stroke="${color}" stroke-width="1.5"><title>${esc(`${s.name} @ ${c.categories[i]}: ${fmt(v)}`)}</title></circle>`,
        );
    });
    const ly = M.top + 8 + si * 20;
    const lx = M.left + pw + 16;
    out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 32}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Round tick values (1, 2, 2.5, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target: number): number[] {
  const raw = (hi - lo) / Math.max(1, target - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = start; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi - 1e-9) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

function f(v: number): string {
  return v.toFixed(1);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
