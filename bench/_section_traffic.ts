// The throughput and fairness sections of one runtime in bench/RESULTS.md (wrk runs).

import { cell, table } from "./_md.ts";
import type { RuntimeResults, WrkSample } from "./_results.ts";
import { fairness, fmt, median, ratio, spread } from "./_stats.ts";
import { primaryUsPerConnection } from "./_targets.ts";
import { serverKind } from "./_tree.ts";
import { NATIVE, VARIANT_IDS } from "./_variants.ts";
import { failed } from "./_wrk.ts";

const med = (xs: WrkSample[] | undefined, f: (s: WrkSample) => number) => median((xs ?? []).map(f));

/** Why a variant has no samples: its skip or failure reason. */
export function missing(r: RuntimeResults, id: string, bench: string): string {
  const reason = r.skipped[id] ?? r.failed[`${bench} ${id}`];
  return reason ? `${r.skipped[id] ? "skipped" : "failed"}: ${cell(reason)}` : "not measured";
}

/** What answered a variant's requests, from its fingerprint. */
function server(r: RuntimeResults, id: string, runtime: string): string {
  const headers = r.fingerprints[id];
  if (!headers) return "–";
  const kind = serverKind(headers);
  return kind === "native" ? NATIVE[runtime as keyof typeof NATIVE] ?? kind : kind;
}

/**
 * The throughput table, a few ratios, and the fairness table of `runtime`.
 *
 * @example
 * ```ts
 * lines.push(...trafficSection("node", r, labels));
 * ```
 */
export function trafficSection(
  runtime: string,
  r: RuntimeResults,
  labels: Record<string, string>,
): string[] {
  if (!Object.keys(r.churn).length && !Object.keys(r.keepalive).length) return [];
  const ids = VARIANT_IDS.filter((id) => labels[id]);
  const rows = ids.map((id) => {
    const k = r.keepalive[id], c = r.churn[id];
    if (!c?.length) return [labels[id], missing(r, id, "traffic"), ...Array(10).fill("")];
    return [
      labels[id],
      server(r, id, runtime),
      String(r.workers[id] ?? "–"),
      spread((k ?? []).map((x) => x.rps)),
      spread((k ?? []).map((x) => x.p99), 1),
      spread(c.map((x) => x.rps)),
      spread(c.map((x) => x.p99), 1),
      fmt(med(c, (x) => x.primaryCpu)),
      fmt(primaryUsPerConnection(r, id)),
      fmt(med(c, (x) => x.workersCpu)),
      `${fmt(med(k, (x) => x.clientCpu))} / ${fmt(med(c, (x) => x.clientCpu))}`,
      String([...c, ...(k ?? [])].reduce((n, x) => n + failed(x.errors), 0)),
    ];
  });
  const rps = (kind: "keepalive" | "churn", id: string) => med(r[kind][id], (x) => x.rps);
  const lines = [
    `Default \`serve()\` / ${labels.indie}: keep-alive ${
      ratio(rps("keepalive", "default"), rps("keepalive", "indie"))
    }, churn ${ratio(rps("churn", "default"), rps("churn", "indie"))}.`,
    `Fetch bridge: round-robin \`serve()\` / round-robin \`listen(node:http)\`, keep-alive ${
      ratio(rps("keepalive", "ours-rr"), rps("keepalive", "ours-rr-listen"))
    }.`,
    `Round-robin \`listen(node:http)\` / node:cluster SCHED_RR: churn ${
      ratio(rps("churn", "ours-rr-listen"), rps("churn", "nc-rr"))
    }, primary CPU per connection ${
      ratio(primaryUsPerConnection(r, "ours-rr-listen"), primaryUsPerConnection(r, "nc-rr"))
    }.`,
  ];
  const fair = ids.filter((id) => r.churn[id]?.length).map((id) => {
    const f = r.churn[id].map((x) => fairness(x.workers, r.workers[id] ?? 2));
    const mid = [...f].sort((a, b) => a.cv - b.cv)[(f.length - 1) >> 1];
    return [
      labels[id],
      spread(f.map((x) => x.maxMin), 2),
      spread(f.map((x) => x.cv), 1),
      mid.shares.map((x) => x.toFixed(1)).join(" / "),
    ];
  });
  return [
    "### Throughput (wrk, keep-alive and churn)",
    "",
    ...table(
      [
        "variant",
        "server",
        "workers",
        "keep-alive req/s",
        "keep-alive p99 ms",
        "churn req/s",
        "churn p99 ms",
        "churn primary CPU %",
        "primary CPU µs / connection",
        "churn workers CPU %",
        "wrk CPU % (keep-alive / churn)",
        "failed",
      ],
      rows,
      ["---", "---", ...Array(10).fill("---:")],
    ),
    "",
    ...lines.map((line) => `- ${line}`),
    "",
    "### Fairness: per-worker share of the churn requests",
    "",
    ...table(["variant", "max/min", "CV %", "shares % (busiest first, median round)"], fair),
    "",
  ];
}
