// `Cluster.stats()` and the workers' own metrics in the Prometheus text exposition format
// (version 0.0.4): `x_cluster_` names, `_total` counters, base units (seconds, bytes), a
// `worker` label on per-worker series. Checked with `promtool check metrics` in the tests.

import type { AggregatedMetric } from "./_metrics_aggregate.ts";
import { RESTART_REASONS } from "./stats.ts";
import type { ClusterStats } from "./stats.ts";

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [labels: Labels, value: number | null];

/** The `Content-Type` of the exposition. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Renders the cluster's figures and the aggregated application metrics.
 *
 * @example
 * ```ts ignore
 * const text = renderMetrics(cluster.stats(), aggregator.collect());
 * ```
 */
export function renderMetrics(
  stats: ClusterStats,
  restartsBySlot: ReadonlyMap<number, Readonly<Record<string, number>>>,
  app: readonly AggregatedMetric[],
): string {
  const out: string[] = [];
  const family = (
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: readonly Sample[],
  ): void => {
    const present = samples.filter(([, value]) => value !== null);
    out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of present) out.push(`${name}${labelText(labels)} ${num(value!)}`);
  };
  const { totals, reloads, primary } = stats;
  family("x_cluster_ready", "gauge", "1 when every slot has a ready worker (what /readyz says)", [
    [{}, stats.ready ? 1 : 0],
  ]);
  family("x_cluster_slots", "gauge", "Slots the cluster keeps a worker in", [[{}, totals.slots]]);
  family("x_cluster_ready_slots", "gauge", "Slots with a ready worker", [[{}, totals.readySlots]]);
  family("x_cluster_workers", "gauge", "Live worker processes", [[{}, totals.workers]]);
  family(
    "x_cluster_requests_total",
    "counter",
    "Requests served by every worker, those that exited included",
    [[{}, totals.requests]],
  );
  family(
    "x_cluster_active_connections",
    "gauge",
    "Open connections of the workers that can tell",
    [[{}, totals.activeConnections]],
  );
  family(
    "x_cluster_restarts_total",
    "counter",
    "Workers replaced in their slot, by reason",
    RESTART_REASONS.map((reason) => [{ reason }, totals.restartsByReason[reason]] as const),
  );
  const slots: Sample[] = [];
  for (const [slot, counts] of [...restartsBySlot].sort(([a], [b]) => a - b)) {
    for (const reason of RESTART_REASONS) {
      slots.push([{ slot: String(slot), reason }, counts[reason] ?? 0]);
    }
  }
  family(
    "x_cluster_slot_restarts_total",
    "counter",
    "Workers replaced in one slot, by reason",
    slots,
  );
  family("x_cluster_reloads_total", "counter", "Rolling reloads started", [[{}, reloads.total]]);
  family("x_cluster_reload_failures_total", "counter", "Rolling reloads that failed", [
    [{}, reloads.failed],
  ]);
  family("x_cluster_reloading", "gauge", "1 while a rolling reload runs", [
    [{}, reloads.running ? 1 : 0],
  ]);
  family("x_cluster_reload_last_duration_seconds", "gauge", "Duration of the last reload", [
    [{}, reloads.lastDuration],
  ]);
  family(
    "x_cluster_reload_handoff_refusals_total",
    "counter",
    "Round-robin handoffs refused or lost while a reload ran (each offered again)",
    [[{}, reloads.handoffsRefused]],
  );
  family(
    "x_cluster_reload_dropped_connections_total",
    "counter",
    "Connections the primary dropped while a reload ran (round-robin)",
    [[{}, reloads.droppedConnections]],
  );
  family("x_cluster_primary_resident_memory_bytes", "gauge", "Resident memory of the primary", [
    [{}, primary.rss],
  ]);
  family("x_cluster_primary_cpu_seconds_total", "counter", "CPU time of the primary", [
    [{}, primary.cpuSeconds],
  ]);
  family(
    "x_cluster_primary_event_loop_lag_seconds",
    "gauge",
    "Longest event-loop delay of the primary since the previous scrape",
    [[{}, primary.eventLoopLag]],
  );
  const w = stats.workers;
  const per = (read: (x: (typeof w)[number]) => number | null): Sample[] =>
    w.map((x) => [{ worker: String(x.id) }, read(x)] as const);
  family(
    "x_cluster_worker_info",
    "gauge",
    "One per live worker: its slot, pid and state",
    w.map((x) =>
      [
        { worker: String(x.id), slot: String(x.slot), pid: String(x.pid ?? ""), state: x.state },
        1,
      ] as const
    ),
  );
  family(
    "x_cluster_worker_ready",
    "gauge",
    "1 when the worker is ready for traffic",
    per((x) => x.ready ? 1 : 0),
  );
  family(
    "x_cluster_worker_start_time_seconds",
    "gauge",
    "When the worker was forked, seconds since the epoch",
    per((x) => Math.round(stats.time / 1000 - x.uptime)),
  );
  family(
    "x_cluster_worker_requests_total",
    "counter",
    "Requests the worker served",
    per((x) => x.requests),
  );
  family(
    "x_cluster_worker_active_connections",
    "gauge",
    "Connections open on the worker's node:http/node:net servers",
    per((x) => x.activeConnections),
  );
  family(
    "x_cluster_worker_resident_memory_bytes",
    "gauge",
    "Resident memory of the worker",
    per((x) => x.rss),
  );
  family(
    "x_cluster_worker_cpu_seconds_total",
    "counter",
    "CPU time of the worker",
    per((x) => x.cpuSeconds),
  );
  family(
    "x_cluster_worker_event_loop_lag_seconds",
    "gauge",
    "Longest event-loop delay of the worker in its last report interval",
    per((x) => x.eventLoopLag),
  );
  family(
    "x_cluster_worker_handoffs_total",
    "counter",
    "Connections the primary handed to the worker (round-robin)",
    per((x) => x.handoffs),
  );
  const l = stats.listeners;
  family(
    "x_cluster_listener_workers",
    "gauge",
    "Workers serving the listen address",
    l.map((x) => [{ listener: x.key, policy: x.policy }, x.workers] as const),
  );
  family(
    "x_cluster_listener_queued_connections",
    "gauge",
    "Connections the primary accepted that wait for a worker (round-robin)",
    l.map((x) => [{ listener: x.key }, x.queued] as const),
  );
  family(
    "x_cluster_dropped_connections_total",
    "counter",
    "Connections the primary closed without a worker taking them (round-robin)",
    l.map((x) => [{ listener: x.key }, x.dropped] as const),
  );
  family(
    "x_cluster_handoffs_total",
    "counter",
    "Connections handed to a worker that took them (round-robin)",
    l.map((x) => [{ listener: x.key }, x.handoffs] as const),
  );
  family(
    "x_cluster_handoff_refusals_total",
    "counter",
    "Handoffs a worker refused or died holding (each offered again)",
    l.map((x) => [{ listener: x.key }, x.handoffsRefused] as const),
  );
  const name = "x_cluster_handoff_duration_seconds";
  out.push(
    `# HELP ${name} From a handoff until the worker acknowledged it`,
    `# TYPE ${name} histogram`,
  );
  for (const x of l.filter((x) => x.policy === "round-robin")) {
    const h = x.handoffLatency;
    for (const [le, count] of [...h.buckets, [Infinity, h.count] as const]) {
      const labels = { listener: x.key, le: le === Infinity ? "+Inf" : String(le) };
      out.push(`${name}_bucket${labelText(labels)} ${count}`);
    }
    out.push(`${name}_sum${labelText({ listener: x.key })} ${num(h.sum)}`);
    out.push(`${name}_count${labelText({ listener: x.key })} ${h.count}`);
  }
  for (const m of app) {
    family(m.name, m.type, m.help, m.series.map((s) => [s.labels, s.value] as const));
  }
  return out.join("\n") + "\n";
}

function labelText(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length === 0) return "";
  return `{${names.map((name) => `${name}="${escapeLabel(labels[name])}"`).join(",")}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function num(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}
