// The worker's periodic `stats` message (one per `statsInterval`, never one per request): its
// request count, what its adapter measured of the process, and a snapshot of the application's
// own metrics (`Cluster.worker.metrics`) when they changed. This file owns its shape and its
// validation at the primary, which treats the channel as untrusted (see protocol.ts).

/** How a worker metric's values of several workers combine in the primary's `/metrics`. */
export type MetricAggregation = "sum" | "min" | "max" | "worker";

/** The aggregations, the default first. */
export const AGGREGATIONS: readonly MetricAggregation[] = ["sum", "min", "max", "worker"];

/** One metric of a worker: its metadata and every labelled value. */
export interface MetricSnapshot {
  /** Its Prometheus name. */
  name: string;
  /** Its `# HELP` text. */
  help: string;
  /** Counter or gauge. */
  type: "counter" | "gauge";
  /** How the primary combines the workers' values. */
  aggregate: MetricAggregation;
  /** `[labels, value]` pairs; labels sorted by name. */
  series: [labels: Record<string, string>, value: number][];
}

/** Worker → primary, every `statsInterval` ms. */
export interface StatsMessage {
  cmd: "stats";
  /** Requests (HTTP) or connections (plain TCP) served so far, by every server it ran. */
  requests: number;
  /** Connections open now; absent where a server cannot tell (Deno.serve, Bun.serve). */
  connections?: number;
  /** Resident memory, bytes. */
  rss: number;
  /** CPU time so far, seconds. */
  cpu: number;
  /** Longest event-loop delay since the previous message, seconds. */
  lag: number;
  /** The application's metrics, when they changed since the previous message. */
  metrics?: MetricSnapshot[];
}

/** At most this many metrics, and labelled values in all, per worker. */
export const METRIC_LIMITS = { families: 500, series: 10_000, text: 200 } as const;

/** Prometheus metric names. */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Prometheus label names (and not `__`-prefixed: reserved). */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Validates a `stats` message from a worker; returns it or why it is malformed.
 *
 * @example
 * ```ts
 * import { parseStats } from "./_stats_message.ts";
 * parseStats({ cmd: "stats", requests: 3, rss: 1e7, cpu: 0.5, lag: 0.001 }); // the message
 * parseStats({ cmd: "stats", requests: -1 }); // "stats: bad requests, rss, cpu or lag"
 * ```
 */
export function parseStats(m: Record<string, unknown>): StatsMessage | string {
  const requests = own(m, "requests"), rss = own(m, "rss"), cpu = own(m, "cpu");
  const lag = own(m, "lag"), metrics = own(m, "metrics");
  if (!isCount(requests) || !isAmount(rss) || !isAmount(cpu) || !isAmount(lag)) {
    return "stats: bad requests, rss, cpu or lag";
  }
  const message: StatsMessage = { cmd: "stats", requests, rss, cpu, lag };
  const connections = own(m, "connections");
  if (connections !== undefined) {
    if (!isCount(connections)) return "stats: bad connections";
    message.connections = connections;
  }
  if (metrics === undefined) return message;
  const parsed = parseMetrics(metrics);
  if (typeof parsed === "string") return `stats: ${parsed}`;
  message.metrics = parsed;
  return message;
}

function parseMetrics(value: unknown): MetricSnapshot[] | string {
  if (!Array.isArray(value) || value.length > METRIC_LIMITS.families) return "bad metrics";
  const out: MetricSnapshot[] = [];
  const names = new Set<string>();
  let series = 0;
  for (const family of value) {
    if (!isRecord(family)) return "bad metric";
    const name = own(family, "name"), help = own(family, "help"), type = own(family, "type");
    const aggregate = own(family, "aggregate"), values = own(family, "series");
    if (!isText(name) || !METRIC_NAME.test(name) || names.has(name)) return "bad metric name";
    names.add(name);
    if (typeof help !== "string" || help.length > 1000) return `bad help of ${name}`;
    if (type !== "counter" && type !== "gauge") return `bad type of ${name}`;
    if (!AGGREGATIONS.includes(aggregate as MetricAggregation)) return `bad aggregate of ${name}`;
    if (!Array.isArray(values)) return `bad series of ${name}`;
    series += values.length;
    if (series > METRIC_LIMITS.series) return "too many series";
    const parsed: MetricSnapshot["series"] = [];
    for (const entry of values) {
      if (!Array.isArray(entry) || entry.length !== 2 || !isRecord(entry[0])) {
        return `bad series of ${name}`;
      }
      const [labels, v] = entry as [Record<string, unknown>, unknown];
      if (typeof v !== "number" || Number.isNaN(v)) return `bad value of ${name}`;
      const clean: Record<string, string> = {};
      for (const key of Object.keys(labels).sort()) {
        const label = labels[key];
        if (!LABEL_NAME.test(key) || key.startsWith("__") || key === "worker") {
          return `bad label name of ${name}`;
        }
        if (typeof label !== "string" || label.length > METRIC_LIMITS.text) {
          return `bad label value of ${name}`;
        }
        clean[key] = label;
      }
      parsed.push([clean, v]);
    }
    out.push({
      name,
      help,
      type,
      aggregate: aggregate as MetricAggregation,
      series: parsed,
    });
  }
  return out;
}

function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isAmount(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= METRIC_LIMITS.text;
}
