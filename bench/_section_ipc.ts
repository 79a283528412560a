// The IPC section of one runtime in bench/RESULTS.md.

import { cell, table } from "./_md.ts";
import { IPC_SIZES, type RuntimeResults, SIZE_LABEL } from "./_results.ts";
import { median, ratio, spread } from "./_stats.ts";

const IMPL: Record<string, string> = {
  ours: "ours",
  fork: "child_process.fork",
  "bun-spawn": "Bun.spawn ipc",
};

/**
 * Ping-pong round trips and pipelined throughput per sender, serialization and payload size,
 * with ours / child_process.fork for both.
 *
 * @example
 * ```ts
 * lines.push(...ipcSection(r));
 * ```
 */
export function ipcSection(r: RuntimeResults): string[] {
  if (!Object.keys(r.ipc).length && !Object.keys(r.skipped).some((k) => k.includes("|"))) {
    return [];
  }
  const rows: string[][] = [];
  for (const ser of ["json", "advanced"]) {
    for (const impl of Object.keys(IMPL)) {
      const key = `${impl}|${ser}`;
      if (r.skipped[key] && impl !== "bun-spawn") {
        rows.push([IMPL[impl], ser, "all", `skipped: ${cell(r.skipped[key])}`, "", "", "", ""]);
        continue;
      }
      for (const size of IPC_SIZES) {
        const f = r.ipc[key]?.[size];
        if (!f?.length) continue;
        const fork = r.ipc[`fork|${ser}`]?.[size] ?? [];
        const vs = (pick: (x: (typeof f)[number]) => number) =>
          impl === "fork" ? "" : ratio(median(f.map(pick)), median(fork.map(pick)));
        rows.push([
          IMPL[impl],
          ser,
          SIZE_LABEL[size],
          spread(f.map((x) => x.p50)),
          spread(f.map((x) => x.p99)),
          vs((x) => x.p50),
          spread(f.map((x) => x.pipePerS)),
          vs((x) => x.pipePerS),
        ]);
      }
    }
  }
  return [
    "### IPC: ping-pong round trip and pipelined throughput (256 in flight)",
    "",
    ...table(
      [
        "sender",
        "serialization",
        "payload",
        "round trip p50 µs",
        "round trip p99 µs",
        "p50 / fork",
        "pipelined msg/s",
        "pipelined / fork",
      ],
      rows,
      ["---", "---", "---:", "---:", "---:", "---:", "---:", "---:"],
    ),
    "",
  ];
}
