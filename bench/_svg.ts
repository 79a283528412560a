// A small SVG bar chart renderer for bench/charts/*.svg: groups of bars with min–max whiskers,
// a legend, linear or log axis. No dependency: the charts are plain text in the repository.

import { fmt } from "./_stats.ts";

/** One bar: a series' median and its min–max over rounds. */
export interface Bar {
  series: string;
  value: number;
  min?: number;
  max?: number;
}
/** A chart: groups (runtimes) of bars (variants), one color per series. */
export interface Chart {
  title: string;
  unit: string;
  groups: Array<{ label: string; bars: Bar[] }>;
  series: Array<{ id: string; label: string; color: string }>;
  log?: boolean;
  digits?: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * The SVG text of `c`.
 *
 * @example
 * ```ts
 * const svg = svgChart({ title: "t", unit: "req/s", series: [], groups: [] });
 * ```
 */
export function svgChart(c: Chart): string {
  const barW = 18, gap = 26, left = 70, top = 58 + Math.ceil(c.series.length / 3) * 18, plotH = 260;
  const groups = c.groups.filter((g) => g.bars.some((b) => Number.isFinite(b.value)));
  const width = Math.max(
    880,
    left + 20 + groups.reduce((w, g) => w + g.bars.length * barW + gap, 0),
  );
  const height = top + plotH + 60;
  const values = groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.max ?? b.value])).filter(
    Number.isFinite,
  );
  const maxV = Math.max(...values, 1e-9);
  const minV = c.log ? Math.max(Math.min(...values.filter((v) => v > 0)) / 2, 1e-9) : 0;
  const lo = c.log ? Math.floor(Math.log10(minV)) : 0;
  const hi = c.log ? Math.ceil(Math.log10(maxV)) : 0;
  const niceMax = c.log ? 10 ** hi : niceCeil(maxV);
  const y = (v: number) => {
    if (c.log) {
      const f = (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo || 1);
      return top + plotH - f * plotH;
    }
    return top + plotH - (v / niceMax) * plotH;
  };
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="600">${esc(c.title)}</text>`,
  );
  c.series.forEach((s, i) => {
    const x = left + (i % 3) * 260, yy = 40 + Math.floor(i / 3) * 18;
    out.push(
      `<rect x="${x}" y="${yy - 9}" width="11" height="11" fill="${s.color}"/>`,
      `<text x="${x + 16}" y="${yy}">${esc(s.label)}</text>`,
    );
  });
  // axis and grid
  const ticks: number[] = [];
  if (c.log) { for (let e = lo; e <= hi; e++) ticks.push(10 ** e); }
  else for (let i = 0; i <= 5; i++) ticks.push((niceMax / 5) * i);
  for (const t of ticks) {
    out.push(
      `<line x1="${left}" x2="${width - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" fill="#555">${esc(short(t))}</text>`,
    );
  }
  out.push(
    `<text transform="translate(14 ${
      top + plotH / 2
    }) rotate(-90)" text-anchor="middle" fill="#555">${esc(c.unit)}${
      c.log ? " (log scale)" : ""
    }</text>`,
  );
  let x = left + gap / 2;
  for (const g of groups) {
    const x0 = x;
    for (const b of g.bars) {
      const color = c.series.find((s) => s.id === b.series)?.color ?? "#999";
      if (Number.isFinite(b.value)) {
        const yv = y(b.value);
        out.push(
          `<rect x="${x}" y="${yv}" width="${barW - 3}" height="${
            top + plotH - yv
          }" fill="${color}"><title>${
            esc(`${g.label} ${b.series}: ${fmt(b.value, c.digits ?? 0)}`)
          }</title></rect>`,
        );
        if (b.min !== undefined && b.max !== undefined && b.max > b.min) {
          const cx = x + (barW - 3) / 2;
          out.push(
            `<line x1="${cx}" x2="${cx}" y1="${y(b.max)}" y2="${
              y(b.min)
            }" stroke="#222" stroke-width="1"/>`,
            `<line x1="${cx - 3}" x2="${cx + 3}" y1="${y(b.max)}" y2="${y(b.max)}" stroke="#222"/>`,
            `<line x1="${cx - 3}" x2="${cx + 3}" y1="${y(b.min)}" y2="${y(b.min)}" stroke="#222"/>`,
          );
        }
        const ty = Math.min(y(b.max ?? b.value), yv) - 4;
        out.push(
          `<text transform="translate(${
            x + (barW - 3) / 2 + 3
          } ${ty}) rotate(-90)" font-size="9" fill="#333">${esc(short(b.value, c.digits))}</text>`,
        );
      }
      x += barW;
    }
    out.push(
      `<text x="${(x0 + x - 3) / 2}" y="${top + plotH + 16}" text-anchor="middle" fill="#222">${
        esc(g.label)
      }</text>`,
    );
    x += gap;
  }
  out.push(
    `<line x1="${left}" x2="${width - 10}" y1="${top + plotH}" y2="${top + plotH}" stroke="#999"/>`,
    `<text x="${left}" y="${
      height - 12
    }" fill="#777" font-size="10">Bars: medians over rounds; whiskers: min–max. Ours in blues and purple, the runtime's own options in orange and grey.</text>`,
    `</svg>`,
  );
  return out.join("\n") + "\n";
}

function niceCeil(v: number): number {
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}
function short(v: number, digits = 0): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e4) return `${+(v / 1e3).toFixed(0)}k`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return v.toFixed(v < 10 && digits === 0 && v % 1 ? 1 : digits);
}
