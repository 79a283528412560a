// Which charts bench/RESULTS.md links to, built from the results and drawn by bench/_svg.ts.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Runtime } from "./_lib.ts";
import { IPC_SIZES, type Results, type RuntimeResults, SIZE_LABEL } from "./_results.ts";
import { fairness, median } from "./_stats.ts";
import { STARTUP_N, startupVariants } from "./_bench_startup.ts";
import { type Bar, type Chart, svgChart } from "./_svg.ts";
import { STALL_IDS, VARIANT_IDS } from "./_variants.ts";

const COLORS: Record<string, string> = {
  "default": "#0b2e6b",
  "ours-rr": "#1f4e9c",
  "ours-shared": "#3b7dd8",
  "ours-reuse": "#8fb8ef",
  "ours-rr-listen": "#6a3d9a",
  "nc-rr": "#c4520a",
  "nc-none": "#f28e2b",
  "indie": "#7f7f7f",
};

/** File name (without .svg) → link text, in the order RESULTS.md lists them. */
export const CHARTS: Array<[string, string]> = [
  ["keepalive", "Keep-alive, req/s"],
  ["churn", "Connection churn, req/s"],
  ["fairness", "Fairness, CV of per-worker share"],
  ["stall", "Stalled worker, open-loop p99 latency"],
  ["ipc", "IPC pipelined throughput"],
  ["startup", "Startup time"],
];

function bar(series: string, xs: number[]): Bar {
  const ok = xs.filter(Number.isFinite);
  return { series, value: median(ok), min: Math.min(...ok), max: Math.max(...ok) };
}

/**
 * Writes bench/charts/<name>.svg for every chart that has data.
 *
 * @example
 * ```ts
 * writeCharts(results, "bench");
 * ```
 */
export function writeCharts(results: Results, dir: string): void {
  const rts = Object.keys(results.runtimes);
  const runtime = (rt: string): RuntimeResults => results.runtimes[rt];
  const first = results.meta.labels[rts[0]] ?? {};
  const series = (ids: readonly string[]) =>
    ids.map((id) => ({
      id,
      label: id === "indie"
        ? "2 × reusePort native (node:http / Deno.serve / Bun.serve)"
        : first[id] ?? id,
      color: COLORS[id],
    }));
  const perVariant = (
    ids: readonly string[],
    pick: (r: RuntimeResults, id: string) => number[],
  ) => rts.map((rt) => ({ label: rt, bars: ids.map((id) => bar(id, pick(runtime(rt), id))) }));
  const ipcSeries = ["ours|json", "ours|advanced", "fork|json", "fork|advanced", "bun-spawn|json"];
  const charts: Record<string, Chart> = {
    keepalive: {
      title: "Keep-alive throughput (wrk, 64 connections, 2 workers): requests/s, higher is better",
      unit: "req/s",
      series: series(VARIANT_IDS),
      groups: perVariant(VARIANT_IDS, (r, id) => (r.keepalive[id] ?? []).map((s) => s.rps)),
    },
    churn: {
      title: "Connection churn (wrk, Connection: close, 2 workers): requests/s, higher is better",
      unit: "req/s",
      series: series(VARIANT_IDS),
      groups: perVariant(VARIANT_IDS, (r, id) => (r.churn[id] ?? []).map((s) => s.rps)),
    },
    fairness: {
      title: "Fairness: coefficient of variation of the per-worker share of churn, lower is fairer",
      unit: "CV %",
      digits: 1,
      series: series(VARIANT_IDS),
      groups: perVariant(
        VARIANT_IDS,
        (r, id) => (r.churn[id] ?? []).map((s) => fairness(s.workers, r.workers[id] ?? 2).cv),
      ),
    },
    stall: {
      title: "Stalled worker (one blocks 200 ms/s), open loop: p99 latency, lower is better",
      unit: "p99 ms",
      digits: 1,
      log: true,
      series: series(STALL_IDS),
      groups: perVariant(STALL_IDS, (r, id) => (r.stall[id] ?? []).map((s) => s.p99)),
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
      ],
      groups: rts.flatMap((rt) =>
        IPC_SIZES.map((size) => ({
          label: `${rt} ${SIZE_LABEL[size]}`,
          bars: ipcSeries.filter((k) => runtime(rt).ipc[k]?.[size]?.length)
            .map((k) => bar(k, runtime(rt).ipc[k][size].map((f) => f.pipePerS))),
        }))
      ),
    },
    startup: {
      title: "Startup: ms until N workers listen, lower is better",
      unit: "ms",
      series: [
        { id: "ours-npm", label: "ours, npm build (Node)", color: "#0b2e6b" },
        { id: "ours", label: "ours (new Cluster + start), sources", color: "#1f4e9c" },
        { id: "node-cluster", label: "bare node:cluster fork loop", color: "#c4520a" },
        { id: "bare", label: "one bare runtime boot", color: "#c7c7c7" },
      ],
      groups: rts.flatMap((rt) =>
        STARTUP_N.map((n) => ({
          label: `${rt} N=${n}`,
          bars: startupVariants(rt as Runtime).map((v) =>
            bar(v, runtime(rt).startup[`${v}|${v === "bare" ? 1 : n}`] ?? [])
          ),
        }))
      ),
    },
  };
  for (const [name, chart] of Object.entries(charts)) {
    if (!chart.groups.some((g) => g.bars.some((b) => Number.isFinite(b.value)))) continue;
    writeFileSync(join(dir, "charts", `${name}.svg`), svgChart(chart));
  }
}
