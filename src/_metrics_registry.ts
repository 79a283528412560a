// The application's own metrics in a worker (`Cluster.worker.metrics`): counters and gauges that
// the primary aggregates across workers into its `/metrics`, the job prom-client's
// AggregatorRegistry does for node:cluster — without a request to every worker per scrape: the
// values ride the worker's periodic `stats` message, and only those that changed.

import {
  AGGREGATIONS,
  LABEL_NAME,
  METRIC_LIMITS,
  METRIC_NAME,
  type MetricAggregation,
  type MetricSnapshot,
} from "./_stats_message.ts";

export type { MetricAggregation, MetricSnapshot } from "./_stats_message.ts";

/** Label values of one series, e.g. `{ route: "/users" }`. */
export type Labels = Readonly<Record<string, string>>;

/** Options of {@linkcode WorkerMetrics.counter} and {@linkcode WorkerMetrics.gauge}. */
export interface MetricOptions {
  /**
   * How the primary combines the workers' values: `"sum"`, `"min"`, `"max"`, or `"worker"`
   * (one series per worker, with a `worker` label). A counter's sum keeps the counts of workers
   * that exited, so that it never goes down.
   * @default "sum"
   */
  aggregate?: MetricAggregation;
}

/** A value that only goes up (requests handled, errors, bytes sent). */
export interface Counter {
  /** Adds `amount` (>= 0) to the series of `labels`. @default amount 1, no labels */
  inc(amount?: number, labels?: Labels): void;
}

/** A value that goes up and down (queue length, open sessions). */
export interface Gauge {
  /** Sets the series of `labels` to `value`. */
  set(value: number, labels?: Labels): void;
  /** Adds `amount` (may be negative). @default 1 */
  inc(amount?: number, labels?: Labels): void;
  /** Subtracts `amount`. @default 1 */
  dec(amount?: number, labels?: Labels): void;
}

interface Family {
  snapshot: MetricSnapshot;
  /** Series by their canonical label key. */
  values: Map<string, [Record<string, string>, number]>;
  /** Keys of `values` changed since the last snapshot. */
  changed: Set<string>;
}

/**
 * The application metrics of this worker. Names follow Prometheus (`[a-zA-Z_:][a-zA-Z0-9_:]*`;
 * counters end in `_total`; `x_cluster_` is the library's). The primary serves them, combined
 * across workers, on its `metrics` listener.
 *
 * @example Count requests by route in every worker
 * ```ts ignore
 * import { Cluster } from "@x/cluster";
 *
 * const hits = Cluster.worker.metrics.counter("app_hits_total", "Requests by route");
 * await Cluster.worker.serve({ port: 8000 }, (request) => {
 *   hits.inc(1, { route: new URL(request.url).pathname });
 *   return new Response("ok");
 * });
 * ```
 */
export class WorkerMetrics {
  #families = new Map<string, Family>();
  #series = 0;
  /** Families created or changed since the last snapshot. */
  #dirty = new Set<Family>();

  /** Creates (or returns the existing) counter `name`. Throws a `TypeError` on a bad name. */
  counter(name: string, help: string, options: MetricOptions = {}): Counter {
    if (!name.endsWith("_total")) {
      throw new TypeError(
        `Cannot create counter "${name}": a counter's name must end in "_total" ` +
          `(Prometheus naming), e.g. "${name}_total"`,
      );
    }
    const family = this.#family(name, help, "counter", options);
    return {
      inc: (amount = 1, labels = {}) => {
        if (!(Number.isFinite(amount) && amount >= 0)) {
          throw new RangeError(
            `Cannot increment counter "${name}": 'amount' must be a finite number >= 0: ` +
              `current value is ${amount}; use a gauge for values that go down`,
          );
        }
        this.#add(family, labels, amount);
      },
    };
  }

  /** Creates (or returns the existing) gauge `name`. Throws a `TypeError` on a bad name. */
  gauge(name: string, help: string, options: MetricOptions = {}): Gauge {
    const family = this.#family(name, help, "gauge", options);
    const finite = (what: string, value: number) => {
      if (!Number.isFinite(value)) {
        throw new RangeError(
          `Cannot ${what} gauge "${name}": the value must be a finite number: current value ` +
            `is ${value}`,
        );
      }
    };
    return {
      set: (value, labels = {}) => {
        finite("set", value);
        this.#put(family, labels, () => value);
      },
      inc: (amount = 1, labels = {}) => {
        finite("increment", amount);
        this.#add(family, labels, amount);
      },
      dec: (amount = 1, labels = {}) => {
        finite("decrement", amount);
        this.#add(family, labels, -amount);
      },
    };
  }

  /**
   * What changed since the previous call, or `undefined` if nothing did: each metric created or
   * changed, with only its changed values (the primary keeps the rest). A busy worker's report
   * then carries the few values that moved, not all of its up to 10,000 (review P3).
   */
  takeSnapshot(): MetricSnapshot[] | undefined {
    if (this.#dirty.size === 0) return undefined;
    const out = [...this.#dirty].map(({ snapshot, values, changed }) => {
      const series = [...changed].map((key) => values.get(key)!).map(([labels, value]) =>
        [labels, value] as [Record<string, string>, number]
      );
      changed.clear();
      return { ...snapshot, series };
    });
    this.#dirty.clear();
    return out;
  }

  #family(
    name: string,
    help: string,
    type: "counter" | "gauge",
    options: MetricOptions,
  ): Family {
    const aggregate = options.aggregate ?? "sum";
    const where = `Cannot create ${type} "${name}"`;
    if (typeof name !== "string" || !METRIC_NAME.test(name) || name.length > METRIC_LIMITS.text) {
      throw new TypeError(
        `${where}: a metric name must match [a-zA-Z_:][a-zA-Z0-9_:]* (at most ` +
          `${METRIC_LIMITS.text} characters), e.g. "app_requests_total"`,
      );
    }
    if (name.startsWith("x_cluster_")) {
      throw new TypeError(`${where}: the prefix "x_cluster_" is the library's; use your own`);
    }
    if (typeof help !== "string" || help.length > 1000) {
      throw new TypeError(`${where}: 'help' must be a string of at most 1000 characters`);
    }
    if (!AGGREGATIONS.includes(aggregate)) {
      throw new TypeError(`${where}: 'aggregate' must be one of ${AGGREGATIONS.join(", ")}`);
    }
    const existing = this.#families.get(name);
    if (existing) {
      const s = existing.snapshot;
      if (s.type !== type || s.aggregate !== aggregate) {
        throw new TypeError(
          `${where}: it exists already as a ${s.type} with aggregate "${s.aggregate}"`,
        );
      }
      return existing;
    }
    if (this.#families.size >= METRIC_LIMITS.families) {
      throw new RangeError(`${where}: a worker may have at most ${METRIC_LIMITS.families} metrics`);
    }
    const family: Family = {
      snapshot: { name, help, type, aggregate, series: [] },
      values: new Map(),
      changed: new Set(),
    };
    this.#families.set(name, family);
    this.#dirty.add(family);
    return family;
  }

  #add(family: Family, labels: Labels, amount: number): void {
    this.#put(family, labels, (current) => current + amount);
  }

  #put(family: Family, labels: Labels, next: (current: number) => number): void {
    const key = labelKey(family.snapshot.name, labels);
    const entry = family.values.get(key);
    if (entry) {
      entry[1] = next(entry[1]);
    } else {
      if (this.#series >= METRIC_LIMITS.series) {
        throw new RangeError(
          `Cannot record "${family.snapshot.name}": a worker may have at most ` +
            `${METRIC_LIMITS.series} labelled values in all; use fewer distinct label values`,
        );
      }
      this.#series++;
      const sorted: Record<string, string> = {};
      for (const name of Object.keys(labels).sort()) sorted[name] = labels[name];
      family.values.set(key, [sorted, next(0)]);
    }
    family.changed.add(key);
    this.#dirty.add(family);
  }
}

/** A canonical key of `labels` (sorted), checking each name and value. */
function labelKey(metric: string, labels: Labels): string {
  if (typeof labels !== "object" || labels === null) {
    throw new TypeError(`Cannot record "${metric}": labels must be an object of strings`);
  }
  const names = Object.keys(labels).sort();
  if (names.length > METRIC_LIMITS.labels) {
    throw new RangeError(
      `Cannot record "${metric}": at most ${METRIC_LIMITS.labels} labels on a value`,
    );
  }
  for (const name of names) {
    const value = labels[name];
    if (
      !LABEL_NAME.test(name) || name.length > METRIC_LIMITS.text || name.startsWith("__") ||
      name === "worker"
    ) {
      throw new TypeError(
        `Cannot record "${metric}": label "${name}" must match [a-zA-Z_][a-zA-Z0-9_]* (at most ` +
          `${METRIC_LIMITS.text} characters), not start with "__", and not be "worker" (the ` +
          `primary adds that one)`,
      );
    }
    if (typeof value !== "string" || value.length > METRIC_LIMITS.text) {
      throw new TypeError(
        `Cannot record "${metric}": label "${name}" must be a string of at most ` +
          `${METRIC_LIMITS.text} characters`,
      );
    }
  }
  return JSON.stringify(names.map((name) => [name, labels[name]]));
}
