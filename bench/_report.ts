// Writes bench/RESULTS.md and bench/charts/*.svg from the results of bench/run.ts. Run alone
// (`node bench/_report.ts`), it regenerates both from bench/results.json without measuring.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** One client run (bench/_client.ts) plus the server root's CPU. */
export interface Sample {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  workers: Record<string, number>;
  clientCpu: number;
  primaryCpu: number;
}

export interface IpcFigures {
  p50: number;
  p99: number;
  pingPerS: number;
  pipePerS: number;
}

export interface RuntimeResults {
  churn: Record<string, Sample[]>;
  keepalive: Record<string, Sample[]>;
  stall: Record<string, Sample[]>;
  /** "impl|serialization" → payload size → rounds. */
  ipc: Record<string, Record<string, IpcFigures[]>>;
  /** "variant|N" → ms per round. */
  startup: Record<string, number[]>;
  skipped: Record<string, string>;
  failed: Record<string, string>;
}

export interface Results {
  meta: {
    date: string;
    command: string;
    quick: boolean;
    rounds: number;
    settings: Record<string, number>;
    cores: number;
    cpu: string;
    kernel: string;
    loadBefore: number;
    loadAfter: number;
    versions: Record<string, string>;
    benches: string[];
    /** runtime → variant id → label. */
    labels: Record<string, Record<string, string>>;
    /** The commit measured, and whether the core had uncommitted changes. */
    commit?: string;
    tcpMigrateReq?: boolean;
  };
  runtimes: Record<string, RuntimeResults>;
}

const VARIANTS = [
  "ours-rr",
  "ours-shared",
  "ours-reuse",
  "ours-rr-fetch",
  "nc-rr",
  "nc-none",
  "indie",
  "single",
];
const OURS = new Set(["ours-rr", "ours-shared", "ours-reuse", "ours-rr-fetch"]);
const COLORS: Record<string, string> = {
  "ours-rr": "#1f4e9c",
  "ours-shared": "#3b7dd8",
  "ours-reuse": "#8fb8ef",
  "ours-rr-fetch": "#6a3d9a",
  "nc-rr": "#c4520a",
  "nc-none": "#f28e2b",
  "indie": "#7f7f7f",
  "single": "#c7c7c7",
};
const SIZES = ["64", "1024", "16384"];
const SIZE_LABEL: Record<string, string> = { "64": "64 B", "1024": "1 KiB", "16384": "16 KiB" };

export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const fmt = (x: number, d = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d })
    : "–";
/** "median (min–max)". */
function spread(xs: number[], d = 0): string {
  const ok = xs.filter(Number.isFinite);
  if (!ok.length) return "–";
  if (ok.length === 1) return fmt(ok[0], d);
  return `${fmt(median(ok), d)} (${fmt(Math.min(...ok), d)}–${fmt(Math.max(...ok), d)})`;
}
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `×${(a / b).toFixed(2)}` : "–");

/** Per-worker shares of one run: max/min and coefficient of variation (%). */
function fairness(
  sample: Sample,
  workers: number,
): { maxMin: number; cv: number; shares: number[] } {
  const counts = Object.values(sample.workers);
  while (counts.length < workers) counts.push(0);
  const total = counts.reduce((a, b) => a + b, 0);
  const mean = total / counts.length;
  const sd = Math.sqrt(counts.reduce((a, c) => a + (c - mean) ** 2, 0) / counts.length);
  return {
    maxMin: Math.max(...counts) / Math.min(...counts),
    cv: (sd / mean) * 100,
    shares: counts.sort((a, b) => b - a).map((c) => (c / total) * 100),
  };
}

// ---- SVG --------------------------------------------------------------------------------

interface Bar {
  series: string;
  value: number;
  min?: number;
  max?: number;
}
interface Chart {
  title: string;
  unit: string;
  groups: Array<{ label: string; bars: Bar[] }>;
  series: Array<{ id: string; label: string; color: string }>;
  log?: boolean;
  digits?: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function svgChart(c: Chart): string {
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
    }" fill="#777" font-size="10">Bars: medians over rounds; whiskers: min–max. Ours in blue and purple, the runtime's own options in orange and grey.</text>`,
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

// ---- Markdown ----------------------------------------------------------------------------

function table(head: string[], rows: string[][], align?: string[]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map((_, i) => align?.[i] ?? (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

const med = (xs: Sample[] | undefined, f: (s: Sample) => number) => median((xs ?? []).map(f));
/** The primary's CPU time per request, µs (median over rounds). */
const perReq = (xs: Sample[] | undefined) => med(xs, (s) => (s.primaryCpu / 100) * 1e6 / s.rps);

interface Targets {
  churn: number;
  keepAlive: { ratio: number; ours: string; native: string };
  stall: number;
  ipc: { min: number; max: number; worst: string };
  startup: { max: number; worst: string };
}

function targets(r: RuntimeResults, labels: Record<string, string>): Targets {
  const best = (ids: string[]) =>
    ids.map((id) => ({ id, v: med(r.keepalive[id], (s) => s.rps) })).filter((x) =>
      Number.isFinite(x.v)
    )
      .sort((a, b) => b.v - a.v)[0] ?? { id: "", v: NaN };
  const ours = best(VARIANTS.filter((v) => OURS.has(v)));
  const native = best(VARIANTS.filter((v) => !OURS.has(v)));
  const ipcRatios: Array<{ k: string; v: number }> = [];
  for (const ser of ["json", "advanced"]) {
    for (const size of SIZES) {
      const o = median((r.ipc[`ours|${ser}`]?.[size] ?? []).map((f) => f.pipePerS));
      const t = median((r.ipc[`fork|${ser}`]?.[size] ?? []).map((f) => f.pipePerS));
      if (Number.isFinite(o / t)) ipcRatios.push({ k: `${ser} ${SIZE_LABEL[size]}`, v: o / t });
    }
  }
  ipcRatios.sort((a, b) => a.v - b.v);
  const startupRatios = [1, 2, 4].map((n) => ({
    k: `N=${n}`,
    v: median(r.startup[`ours|${n}`] ?? []) / median(r.startup[`node-cluster|${n}`] ?? []),
  })).filter((x) => Number.isFinite(x.v)).sort((a, b) => b.v - a.v);
  return {
    churn: med(r.churn["ours-rr"], (s) => s.rps) / med(r.churn["nc-rr"], (s) => s.rps),
    keepAlive: {
      ratio: ours.v / native.v,
      ours: labels[ours.id] ?? "–",
      native: labels[native.id] ?? "–",
    },
    stall: med(r.stall["ours-rr"], (s) => s.p99) / med(r.stall["ours-reuse"], (s) => s.p99),
    ipc: {
      min: ipcRatios[0]?.v ?? NaN,
      max: ipcRatios[ipcRatios.length - 1]?.v ?? NaN,
      worst: ipcRatios[0]?.k ?? "",
    },
    startup: { max: startupRatios[0]?.v ?? NaN, worst: startupRatios[0]?.k ?? "" },
  };
}

const verdict = (ok: boolean | undefined) =>
  ok === undefined ? "" : ok ? " (met)" : " (**missed**)";
const finite = (x: number) => Number.isFinite(x);

export function writeReport(results: Results, dir: string): void {
  const { meta } = results;
  const rts = Object.keys(results.runtimes);
  const title = (rt: string) =>
    `${rt} ${/\d+\.\d+\.\d+/.exec(meta.versions[rt] ?? "")?.[0] ?? ""}`.trim();
  const L: string[] = [];
  const s = meta.settings;
  L.push(
    "# Benchmark results",
    "",
    `Generated by \`${meta.command}\` (\`bench/run.ts\`) on ${
      meta.date.slice(0, 16).replace("T", " ")
    } UTC. ` +
      "Do not edit by hand: rerun the command. Raw figures: `bench/results.json`." +
      (meta.commit ? ` Code measured: \`${meta.commit}\`.` : ""),
    "",
    `- Machine: ${meta.cores} cores (${meta.cpu}), ${meta.kernel}; load average ${
      meta.loadBefore.toFixed(1)
    } before, ${meta.loadAfter.toFixed(1)} after.`,
    `- Runtimes (pinned, \`node_modules/.bin\`): ${
      rts.map((rt) => `${rt} ${meta.versions[rt]}`).join(", ")
    }. The load generator runs under the pinned Node.`,
    `- ${meta.rounds} rounds${
      meta.quick ? " (`--quick`)" : ""
    }; in each round the variants alternate (A B C …), each on a fresh server tree of ${s.workers} workers. Cells: median (min–max) over rounds.`,
    `- Load: ${s.connections} concurrent connections from \`bench/_client.ts\` (one Node process, plain \`net\` sockets). Churn: every request on a new connection (\`Connection: close\`), ${
      fmt(s.churnCount)
    } requests measured after ${s.warmupMs} ms warm-up; the same ${
      fmt(s.churnCount)
    } connections give the fairness figures. Keep-alive: ${s.keepAliveMs} ms. Stalled worker: churn for ${s.stallMs} ms while worker 1 blocks its event loop 200 ms every second.`,
    "- Every handler answers with its worker's id (1–2 bytes). Same server code on both sides: our round-robin and shared workers serve a `node:http` server through `Cluster.worker.listen()`, like the `node:cluster` workers; `ours round-robin, serve(fetch)` serves a fetch handler through `Cluster.worker.serve()` (node:http behind our fetch bridge). Ours reuse-port uses `serve()` on Deno and Bun, which picks Deno.serve / Bun.serve only when `net.ipv4.tcp_migrate_req=1` (here: " +
      `${
        meta.tcpMigrateReq ? "1, so the native servers" : "0, so node:http + fetch bridge"
      }), and \`listen()\` with node:http on Node; the independent reusePort servers use node:http on Node, Deno.serve on Deno, Bun.serve on Bun. Deno runs with \`-A --unstable-net\`.`,
    "- Primary CPU: `process.cpuUsage()` of the tree's root process over the measured window, in % of one core (for the independent servers the root is an idle launcher; for the single process it is the server itself). Client CPU likewise for the load generator: near 100 % means the client, not the server, set the pace.",
    "",
    `**Noise.** This machine has ${meta.cores} cores: the client, the primary and ${s.workers} workers share them, and other engineers' test suites ran at the same time. Absolute numbers are low and move between runs (see the min–max); compare ratios measured side by side in one run, not figures across runtimes or runs. Benchmarks are not tests: nothing fails on a number.`,
    "",
  );

  // targets
  const T = Object.fromEntries(
    rts.map((rt) => [rt, targets(results.runtimes[rt], meta.labels[rt] ?? {})]),
  );
  L.push(
    "## Targets (issue 5)",
    "",
    "Ratios of medians, ours / theirs. Bun's `node:cluster` ignores SCHED_RR (each Bun worker binds its own SO_REUSEPORT socket), so on Bun the `node:cluster` rows are kernel balancing, not routing through a primary.",
    "",
  );
  L.push(
    ...table(["target", ...rts.map(title)], [
      [
        "churn: ours round-robin ≥ ×1.5 node:cluster SCHED_RR (req/s)",
        ...rts.map((rt) =>
          `${ratio(T[rt].churn, 1)}${finite(T[rt].churn) ? verdict(T[rt].churn >= 1.5) : ""}`
        ),
      ],
      [
        "keep-alive: best of ours ≥ ×0.97 best native option (req/s)",
        ...rts.map((rt) => {
          const k = T[rt].keepAlive;
          return finite(k.ratio)
            ? `${ratio(k.ratio, 1)}${verdict(k.ratio >= 0.97)}: ${k.ours} vs ${k.native}`
            : "–";
        }),
      ],
      [
        "stalled worker: p99 round-robin ≤ ×0.1 reuse-port",
        ...rts.map((rt) =>
          `${ratio(T[rt].stall, 1)}${finite(T[rt].stall) ? verdict(T[rt].stall <= 0.1) : ""}`
        ),
      ],
      [
        "IPC pipelined: ours ≥ ×1 child_process.fork (lowest–highest over sizes × serializations)",
        ...rts.map((rt) => {
          const i = T[rt].ipc;
          return finite(i.min)
            ? `${ratio(i.min, 1)}–${ratio(i.max, 1).slice(1)}${
              verdict(i.min >= 1)
            }, lowest: ${i.worst}`
            : "–";
        }),
      ],
      [
        "startup: ours ≤ ×1.10 a bare node:cluster fork loop (worst N)",
        ...rts.map((rt) => {
          const st = T[rt].startup;
          return finite(st.max)
            ? `${ratio(st.max, 1)}${verdict(st.max <= 1.1)} at ${st.worst}`
            : "–";
        }),
      ],
    ], ["---", ...rts.map(() => "---")]),
    "",
  );

  for (const rt of rts) {
    const r = results.runtimes[rt];
    const labels = meta.labels[rt] ?? {};
    const ids = VARIANTS.filter((id) => labels[id]);
    L.push(`## ${title(rt)}`, "");
    if (Object.keys(r.churn).length || Object.keys(r.keepalive).length) {
      L.push("### Connection churn and keep-alive", "");
      L.push(
        ...table(
          [
            "variant",
            "churn req/s",
            "churn p99 ms",
            "churn primary CPU %",
            "churn client CPU %",
            "keep-alive req/s",
            "keep-alive p99 ms",
            "keep-alive primary CPU %",
            "keep-alive client CPU %",
            "errors",
          ],
          ids.map((id) => {
            const c = r.churn[id], k = r.keepalive[id];
            if (!c?.length) {
              return [
                labels[id],
                `${r.skipped[id] ? "skipped" : "failed"}: ${why(r, id, "traffic")}`,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
              ];
            }
            return [
              labels[id],
              spread(c.map((x) => x.rps)),
              spread(c.map((x) => x.p99), 1),
              spread(c.map((x) => x.primaryCpu)),
              fmt(med(c, (x) => x.clientCpu)),
              spread((k ?? []).map((x) => x.rps)),
              spread((k ?? []).map((x) => x.p99), 1),
              spread((k ?? []).map((x) => x.primaryCpu)),
              fmt(med(k, (x) => x.clientCpu)),
              String([...c, ...(k ?? [])].reduce((n, x) => n + x.errors, 0)),
            ];
          }),
        ),
        "",
      );
      const rr = med(r.churn["ours-rr"], (x) => x.rps);
      const lines = [
        `Churn, ours round-robin / node:cluster SCHED_RR: req/s ${
          ratio(rr, med(r.churn["nc-rr"], (x) => x.rps))
        }, p99 ${
          ratio(med(r.churn["ours-rr"], (x) => x.p99), med(r.churn["nc-rr"], (x) => x.p99))
        }, primary CPU per request ${
          med(r.churn["nc-rr"], (x) => x.primaryCpu) < 2
            ? "n/a (node:cluster's primary routes nothing here)"
            : `${ratio(perReq(r.churn["ours-rr"]), perReq(r.churn["nc-rr"]))} (${
              fmt(perReq(r.churn["ours-rr"]))
            } vs ${fmt(perReq(r.churn["nc-rr"]))} µs)`
        }.`,
        `Churn, ours reuse-port / ${labels.indie}: req/s ${
          ratio(med(r.churn["ours-reuse"], (x) => x.rps), med(r.churn.indie, (x) => x.rps))
        }.`,
        `Keep-alive, best of ours / best native: ${ratio(T[rt].keepAlive.ratio, 1)} (${
          T[rt].keepAlive.ours
        } vs ${T[rt].keepAlive.native}); ours round-robin / node:cluster SCHED_RR: ${
          ratio(med(r.keepalive["ours-rr"], (x) => x.rps), med(r.keepalive["nc-rr"], (x) => x.rps))
        }.`,
      ];
      const counted = new Map<string, number>();
      for (const id of ids) {
        for (const x of [...(r.churn[id] ?? []), ...(r.keepalive[id] ?? [])]) {
          const errorKinds = (x as Sample & { errorKinds?: Record<string, number> }).errorKinds ??
            {};
          for (const [kind, n] of Object.entries(errorKinds)) {
            const key = `${labels[id]}: ${kind}`;
            counted.set(key, (counted.get(key) ?? 0) + n);
          }
        }
      }
      const kinds = [...counted].map(([key, n]) => `${key} ×${n}`);
      if (kinds.length) lines.push(`Errors (all rounds): ${kinds.join("; ")}.`);
      L.push(...lines.map((l) => `- ${l}`), "");
      L.push("### Fairness: per-worker share of the churn connections", "");
      L.push(
        ...table(
          ["variant", "max/min", "CV %", "shares % (busiest first, median round)"],
          ids.filter((id) => id !== "single" && r.churn[id]?.length).map((id) => {
            const f = r.churn[id].map((x) => fairness(x, meta.settings.workers));
            const mid = [...f].sort((a, b) => a.cv - b.cv)[(f.length - 1) >> 1];
            return [
              labels[id],
              spread(f.map((x) => x.maxMin), 2),
              spread(f.map((x) => x.cv), 1),
              mid.shares.map((x) => x.toFixed(1)).join(" / "),
            ];
          }),
        ),
        "",
      );
    }
    if (Object.keys(r.stall).length) {
      L.push("### Stalled worker (worker 1 blocks 200 ms every second, churn load)", "");
      L.push(
        ...table(
          ["variant", "req/s", "p50 ms", "p99 ms", "p999 ms", "errors"],
          ids.filter((id) => id !== "single" && id !== "ours-rr-fetch").map((id) => {
            const x = r.stall[id];
            if (!x?.length) {
              return [
                labels[id],
                `${r.skipped[id] ? "skipped" : "failed"}: ${why(r, id, "stall")}`,
                "",
                "",
                "",
                "",
              ];
            }
            return [
              labels[id],
              spread(x.map((s) => s.rps)),
              spread(x.map((s) => s.p50), 1),
              spread(x.map((s) => s.p99), 1),
              spread(x.map((s) => s.p999), 1),
              String(x.reduce((n, s) => n + s.errors, 0)),
            ];
          }),
        ),
        "",
        `- p99, ours round-robin / ours reuse-port: ${
          ratio(T[rt].stall, 1)
        }; / node:cluster SCHED_RR: ${
          ratio(med(r.stall["ours-rr"], (s) => s.p99), med(r.stall["nc-rr"], (s) => s.p99))
        }.`,
        "",
      );
    }
    if (Object.keys(r.ipc).length || Object.keys(r.skipped).some((k) => k.includes("|"))) {
      L.push("### IPC: ping-pong round trip and pipelined throughput (256 in flight)", "");
      const rows: string[][] = [];
      for (const ser of ["json", "advanced"]) {
        for (const impl of ["ours", "fork", "bun-spawn"]) {
          const key = `${impl}|${ser}`;
          if (r.skipped[key] && impl !== "bun-spawn") {
            rows.push([
              IMPL[impl],
              ser,
              "all",
              `skipped: ${r.skipped[key].split("\n")[0]}`,
              "",
              "",
              "",
            ]);
            continue;
          }
          for (const size of SIZES) {
            const f = r.ipc[key]?.[size];
            if (!f?.length) continue;
            const fork = median((r.ipc[`fork|${ser}`]?.[size] ?? []).map((x) => x.pipePerS));
            rows.push([
              IMPL[impl],
              ser,
              SIZE_LABEL[size],
              spread(f.map((x) => x.p50)),
              spread(f.map((x) => x.p99)),
              spread(f.map((x) => x.pipePerS)),
              impl === "fork" ? "" : ratio(median(f.map((x) => x.pipePerS)), fork),
            ]);
          }
        }
      }
      L.push(
        ...table(
          [
            "sender",
            "serialization",
            "payload",
            "round trip p50 µs",
            "round trip p99 µs",
            "pipelined msg/s",
            "pipelined / fork",
          ],
          rows,
          ["---", "---", "---:", "---:", "---:", "---:", "---:"],
        ),
        "",
      );
    }
    if (Object.keys(r.startup).length) {
      L.push(
        "### Startup: from `new Cluster()` + `start()` (or the first `fork()`) to N workers listening",
        "",
      );
      const bare = median(r.startup["bare|1"] ?? []);
      L.push(
        ...table(
          [
            "N",
            "ours ms",
            "node:cluster fork loop ms",
            "one bare boot ms",
            "ours / fork loop",
            "ours − fork loop ms",
          ],
          [1, 2, 4].map((n) => {
            const o = r.startup[`ours|${n}`] ?? [], t = r.startup[`node-cluster|${n}`] ?? [];
            return [
              String(n),
              spread(o),
              spread(t),
              fmt(bare),
              ratio(median(o), median(t)),
              fmt(median(o) - median(t)),
            ];
          }),
        ),
        "",
      );
    }
    const failures = Object.entries(r.failed);
    if (failures.length) {
      L.push(
        "Failures:",
        "",
        ...failures.map(([k, v]) =>
          `- ${k}: ${v.split("\n").slice(0, 3).join(" ").replaceAll("|", "\\|")}`
        ),
        "",
      );
    }
  }

  L.push("## Charts", "", ...CHARTS.map(([file, what]) => `- [${what}](charts/${file}.svg)`), "");
  L.push(...notes(results));
  writeFileSync(join(dir, "RESULTS.md"), L.join("\n").replace(/\n{3,}/g, "\n\n"));
  writeCharts(results, dir);
}

const IMPL: Record<string, string> = {
  ours: "ours",
  fork: "child_process.fork",
  "bun-spawn": "Bun.spawn ipc",
};
const CHARTS: Array<[string, string]> = [
  ["churn", "Connection churn, req/s"],
  ["keepalive", "Keep-alive, req/s"],
  ["fairness", "Fairness, CV of per-worker share"],
  ["stall", "Stalled worker, p99 latency"],
  ["ipc", "IPC pipelined throughput"],
  ["startup", "Startup time"],
];

function why(r: RuntimeResults, id: string, bench: string): string {
  return (r.skipped[id] ?? r.failed[`${bench} ${id}`] ?? "no samples").split("\n")[0].replaceAll(
    "|",
    "\\|",
  );
}

/** Hand-written observations live in bench/NOTES.md and are appended verbatim. */
function notes(results: Results): string[] {
  void results;
  try {
    return [readFileSync(join(HERE, "NOTES.md"), "utf8").trim(), ""];
  } catch {
    return [];
  }
}

const HERE = fileURLToPath(new URL(".", import.meta.url));

function writeCharts(results: Results, dir: string): void {
  const rts = Object.keys(results.runtimes);
  const label = (rt: string, id: string) => results.meta.labels[rt]?.[id] ?? id;
  const trafficSeries = VARIANTS.map((id) => ({
    id,
    label: id === "indie"
      ? "2 × reusePort node:http / Deno.serve / Bun.serve"
      : id === "ours-reuse"
      ? "ours reuse-port (server: see RESULTS.md)"
      : label(rts[0], id),
    color: COLORS[id],
  }));
  const bars = (
    _rt: string,
    data: Record<string, Sample[]>,
    f: (s: Sample) => number,
    ids = VARIANTS,
  ): Bar[] =>
    ids.map((id) => {
      const xs = (data[id] ?? []).map(f).filter(Number.isFinite);
      return { series: id, value: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
    });
  const charts: Record<string, Chart> = {
    churn: {
      title:
        "Connection churn (new connection per request, 2 workers): requests/s, higher is better",
      unit: "req/s",
      series: trafficSeries,
      groups: rts.map((rt) => ({
        label: rt,
        bars: bars(rt, results.runtimes[rt].churn, (s) => s.rps),
      })),
    },
    keepalive: {
      title: "Keep-alive throughput (32 connections, 2 workers): requests/s, higher is better",
      unit: "req/s",
      series: trafficSeries,
      groups: rts.map((rt) => ({
        label: rt,
        bars: bars(rt, results.runtimes[rt].keepalive, (s) => s.rps),
      })),
    },
    fairness: {
      title:
        "Fairness: coefficient of variation of per-worker share of 10,000 connections, lower is fairer",
      unit: "CV %",
      digits: 1,
      series: trafficSeries.filter((s) => s.id !== "single"),
      groups: rts.map((rt) => ({
        label: rt,
        bars: bars(
          rt,
          results.runtimes[rt].churn,
          (s) => fairness(s, results.meta.settings.workers).cv,
          VARIANTS.filter((v) => v !== "single" && v !== "ours-rr-fetch"),
        ),
      })),
    },
    stall: {
      title: "Stalled worker (one blocks 200 ms/s): p99 latency under churn, lower is better",
      unit: "p99 ms",
      digits: 1,
      log: true,
      series: trafficSeries.filter((s) => s.id !== "single"),
      groups: rts.map((rt) => ({
        label: rt,
        bars: bars(
          rt,
          results.runtimes[rt].stall,
          (s) => s.p99,
          VARIANTS.filter((v) => v !== "single" && v !== "ours-rr-fetch"),
        ),
      })),
    },
    ipc: {
      title: "IPC pipelined throughput (256 in flight): round trips/s, higher is better",
      unit: "msg/s",
      log: true,
      series: [
        { id: "ours|json", label: "ours json", color: "#1f4e9c" },
        { id: "ours|advanced", label: "ours advanced", color: "#8fb8ef" },
        { id: "fork|json", label: "child_process.fork json", color: "#c4520a" },
        { id: "fork|advanced", label: "child_process.fork advanced", color: "#f28e2b" },
        { id: "bun-spawn|json", label: "Bun.spawn ipc json", color: "#7f7f7f" },
        { id: "bun-spawn|advanced", label: "Bun.spawn ipc advanced", color: "#c7c7c7" },
      ],
      groups: rts.flatMap((rt) =>
        SIZES.map((size) => ({
          label: `${rt} ${SIZE_LABEL[size]}`,
          bars: [
            "ours|json",
            "ours|advanced",
            "fork|json",
            "fork|advanced",
            "bun-spawn|json",
            "bun-spawn|advanced",
          ]
            .filter((k) => results.runtimes[rt].ipc[k]?.[size]?.length)
            .map((k) => {
              const xs = results.runtimes[rt].ipc[k][size].map((f) => f.pipePerS);
              return { series: k, value: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
            }),
        }))
      ),
    },
    startup: {
      title: "Startup: ms until N workers listen, lower is better",
      unit: "ms",
      series: [
        { id: "ours", label: "ours (new Cluster + start)", color: "#1f4e9c" },
        { id: "node-cluster", label: "bare node:cluster fork loop", color: "#c4520a" },
        { id: "bare", label: "one bare runtime boot", color: "#c7c7c7" },
      ],
      groups: rts.flatMap((rt) =>
        [1, 2, 4].map((n) => ({
          label: `${rt} N=${n}`,
          bars: ["ours", "node-cluster", "bare"].map((v) => {
            const xs = results.runtimes[rt].startup[`${v}|${v === "bare" ? 1 : n}`] ?? [];
            return { series: v, value: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
          }),
        }))
      ),
    },
  };
  for (const [name, chart] of Object.entries(charts)) {
    if (!chart.groups.some((g) => g.bars.some((b) => Number.isFinite(b.value)))) continue;
    writeFileSync(join(dir, "charts", `${name}.svg`), svgChart(chart));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = JSON.parse(readFileSync(join(HERE, "results.json"), "utf8")) as Results;
  writeReport(results, HERE);
  console.error("wrote bench/RESULTS.md and bench/charts/*.svg from bench/results.json");
}
