// Statistics and number formatting of the benchmark harness: the one copy of `median`, `fmt`
// and the percentile pick that every bench file and the report use.

/**
 * The median of the finite values of `xs` (NaN if there is none).
 *
 * @example
 * ```ts
 * median([3, 1, 2, NaN]); // 2
 * ```
 */
export function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The value at quantile `q` (0–1) of `sorted`, which must be sorted ascending (NaN if empty).
 * Nearest-rank, the same pick for every client, so p99 means one thing in every table.
 *
 * @example
 * ```ts
 * quantile([1, 2, 3, 4], 0.5); // 3
 * ```
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  return n ? sorted[Math.min(n - 1, Math.floor(q * n))] : NaN;
}

/**
 * `x` with `digits` decimals and thousands separators, or "–" when not finite.
 *
 * @example
 * ```ts
 * fmt(12345.6); // "12,346"
 * ```
 */
export function fmt(x: number, digits = 0): string {
  return Number.isFinite(x)
    ? x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "–";
}

/**
 * "median (min–max)" of the finite values, or the value alone when there is one.
 *
 * @example
 * ```ts
 * spread([10, 30, 20]); // "20 (10–30)"
 * ```
 */
export function spread(xs: readonly number[], digits = 0): string {
  const ok = xs.filter(Number.isFinite);
  if (!ok.length) return "–";
  if (ok.length === 1) return fmt(ok[0], digits);
  return `${fmt(median(ok), digits)} (${fmt(Math.min(...ok), digits)}–${
    fmt(Math.max(...ok), digits)
  })`;
}

/**
 * `a / b` as "×0.93", or "–" when either side is missing.
 *
 * @example
 * ```ts
 * ratio(93, 100); // "×0.93"
 * ```
 */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `×${(a / b).toFixed(2)}` : "–";
}

/** Per-worker balance of one run. */
export interface Fairness {
  /** Busiest worker's count over the idlest's. */
  maxMin: number;
  /** Coefficient of variation of the counts, %. */
  cv: number;
  /** Each worker's share, %, busiest first. */
  shares: number[];
}

/**
 * Balance of per-worker request counts; `workers` pads with zeros for workers that got none.
 *
 * @example
 * ```ts
 * fairness({ "1": 60, "2": 40 }, 2).maxMin; // 1.5
 * ```
 */
export function fairness(counts: Record<string, number>, workers: number): Fairness {
  const xs = Object.values(counts);
  while (xs.length < workers) xs.push(0);
  const total = xs.reduce((a, b) => a + b, 0);
  const mean = total / xs.length;
  const sd = Math.sqrt(xs.reduce((a, c) => a + (c - mean) ** 2, 0) / xs.length);
  return {
    maxMin: Math.max(...xs) / Math.min(...xs),
    cv: (sd / mean) * 100,
    shares: xs.sort((a, b) => b - a).map((c) => (c / total) * 100),
  };
}
