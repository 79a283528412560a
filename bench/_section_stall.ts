// The stalled-worker section of one runtime in bench/RESULTS.md (open-loop runs).

import { table } from "./_md.ts";
import type { RuntimeResults } from "./_results.ts";
import { fmt, median, ratio, spread } from "./_stats.ts";
import { missing } from "./_section_traffic.ts";
import { STALL_IDS } from "./_variants.ts";

/**
 * The stalled-worker table of `runtime`: latency quantiles from the intended send time.
 *
 * @example
 * ```ts
 * lines.push(...stallSection(r, labels));
 * ```
 */
export function stallSection(r: RuntimeResults, labels: Record<string, string>): string[] {
  if (!Object.keys(r.stall).length) return [];
  const rows = STALL_IDS.filter((id) => labels[id]).map((id) => {
    const x = r.stall[id];
    if (!x?.length) return [labels[id], missing(r, id, "stall"), ...Array(6).fill("")];
    const stalledShare = median(
      x.map((s) => (s.workers["1"] ?? 0) / Math.max(1, s.requests) * 100),
    );
    return [
      labels[id],
      spread(x.map((s) => s.achieved)),
      spread(x.map((s) => s.p50), 1),
      spread(x.map((s) => s.p99), 1),
      spread(x.map((s) => s.p999), 1),
      fmt(stalledShare, 1),
      String(x.reduce((n, s) => n + s.errors, 0)),
      `${fmt(median(x.map((s) => s.clientCpu)))} / ${fmt(median(x.map((s) => s.lagP99)), 1)}`,
    ];
  });
  const q = (id: string, k: "p99" | "p999") => median((r.stall[id] ?? []).map((s) => s[k]));
  return [
    "### Stalled worker (worker 1 blocks 200 ms every second), open loop",
    "",
    `Offered: ${fmt(r.stallLoad?.rate ?? NaN)} new connections/s to every variant (${
      r.stallLoad?.basis ?? "–"
    }).`,
    "",
    ...table([
      "variant",
      "answered req/s",
      "p50 ms",
      "p99 ms",
      "p999 ms",
      "% answered by the stalled worker",
      "failed",
      "client CPU % / send lag p99 ms",
    ], rows),
    "",
    `- Round-robin / reuse-port: p99 ${ratio(q("ours-rr", "p99"), q("ours-reuse", "p99"))}; ` +
    `round-robin / node:cluster SCHED_RR: p99 ${ratio(q("ours-rr", "p99"), q("nc-rr", "p99"))}, ` +
    `p999 ${ratio(q("ours-rr", "p999"), q("nc-rr", "p999"))}.`,
    "",
  ];
}
