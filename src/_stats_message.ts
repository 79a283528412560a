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
  /**
   * The application's metrics that changed since the previous message, each with only its
   * changed values (the primary keeps the others).
   */
  metrics?: MetricSnapshot[];
  /**
   * Set by the primary's {@linkcode parseStats}, never sent: why it refused some (or all) of the
   * worker's metrics. The refused families are not in `metrics`; the rest are. When all are
   * refused (over the limits) `metrics` is absent: the worker's last accepted ones stand.
   */
  refused?: string;
}

/**
 * Per worker: at most this many metrics and labelled values in all, labels per value, and
 * characters per name or label value. `series` also bounds the counts the primary keeps of
 * exited workers (src/_metrics_aggregate.ts).
 */
export const METRIC_LIMITS = { families: 500, series: 10_000, labels: 32, text: 200 } as const;

/** The prefix of the library's own metrics, which no worker may send. */
export const RESERVED_PREFIX = "x_cluster_";

/** Prometheus metric names. */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Prometheus label names (and not `__`-prefixed: reserved). */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Validates a `stats` message from a worker; returns it or why it is malformed. A metric that
 * could break or spoof the primary's `/metrics` (a reserved `x_cluster_` name, a malformed name
 * or label, a counter not ending in `_total`, more than 32 labels on a value) is left out and the reason put in
 * `refused`; metrics over the per-worker limits are refused all together. The rest of the
 * report (requests, rss, cpu, lag) stands either way.
 *
 * @example
 * ```ts
 * import { parseStats } from "./_stats_message.ts";
 * parseStats({ cmd: "stats", requests: 3, rss: 1e7, cpu: 0.5, lag: 0.001 }); // the message
 * parseStats({ cmd: "stats", requests: -1 }); // "stats: bad requests, rss, cpu or lag"
 * const spoof = { name: "x_cluster_ready", help: "", type: "gauge", aggregate: "max", series: [] };
 * parseStats({ cmd: "stats", requests: 0, rss: 0, cpu: 0, lag: 0, metrics: [spoof] });
 * // { ..., metrics: [], refused: 'metric "x_cluster_ready": the prefix "x_cluster_" is reserved' }
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
  if (!Array.isArray(metrics) || metrics.length > METRIC_LIMITS.families) {
    message.refused = `metrics: not an array of at most ${METRIC_LIMITS.families} metrics`;
    return message;
  }
  const out: MetricSnapshot[] = [];
  const names = new Set<string>();
  let series = 0, refused: string | undefined;
  for (const family of metrics) {
    const parsed = parseFamily(family, names);
    if (typeof parsed === "string") {
      refused ??= parsed;
      continue;
    }
    series += parsed.series.length;
    if (series > METRIC_LIMITS.series) {
      message.refused = `metrics: more than ${METRIC_LIMITS.series} labelled values in all`;
      return message;
    }
    out.push(parsed);
  }
  message.metrics = out;
  if (refused !== undefined) message.refused = refused;
  return message;
}

/** One metric of a worker, or why it is refused; `names` holds the names seen so far. */
function parseFamily(family: unknown, names: Set<string>): MetricSnapshot | string {
  if (!isRecord(family)) return "metrics: a metric is not an object";
  const name = own(family, "name"), help = own(family, "help"), type = own(family, "type");
  const aggregate = own(family, "aggregate"), values = own(family, "series");
  if (!isText(name) || !METRIC_NAME.test(name)) return "metrics: a metric has a malformed name";
  const what = `metric "${name}"`;
  if (names.has(name)) return `${what}: sent twice`;
  names.add(name);
  if (name.startsWith(RESERVED_PREFIX)) return `${what}: the prefix "${RESERVED_PREFIX}" is reserved`;
  if (typeof help !== "string" || help.length > 1000) return `${what}: bad help`;
  if (type !== "counter" && type !== "gauge") return `${what}: bad type`;
  // As the worker's registry demands (Prometheus naming; promtool's lint flags it otherwise).
  if (type === "counter" && !name.endsWith("_total")) {
    return `${what}: a counter's name must end in "_total"`;
  }
  if (!AGGREGATIONS.includes(aggregate as MetricAggregation)) return `${what}: bad aggregate`;
  if (!Array.isArray(values) || values.length > METRIC_LIMITS.series) return `${what}: bad series`;
  const parsed: MetricSnapshot["series"] = [];
  for (const entry of values) {
    if (!Array.isArray(entry) || entry.length !== 2 || !isRecord(entry[0])) {
      return `${what}: bad series`;
    }
    const [labels, v] = entry as [Record<string, unknown>, unknown];
    if (typeof v !== "number" || Number.isNaN(v)) return `${what}: bad value`;
    const keys = Object.keys(labels);
    if (keys.length > METRIC_LIMITS.labels) {
      return `${what}: more than ${METRIC_LIMITS.labels} labels on a value`;
    }
    const clean: Record<string, string> = {};
    for (const key of keys.sort()) {
      const label = labels[key];
      if (
        key.length > METRIC_LIMITS.text || !LABEL_NAME.test(key) || key.startsWith("__") ||
        key === "worker"
      ) {
        return `${what}: bad label name`;
      }
      if (typeof label !== "string" || label.length > METRIC_LIMITS.text) {
        return `${what}: bad label value`;
      }
      clean[key] = label;
    }
    parsed.push([clean, v]);
  }
  return { name, help, type, aggregate: aggregate as MetricAggregation, series: parsed };
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
