// Combines the application metrics of every worker (`Cluster.worker.metrics`) into the series the
// primary's `/metrics` serves — prom-client's AggregatorRegistry, fed by the workers' periodic
// `stats` messages instead of a request to each worker per scrape. A worker sends only the values
// that changed; this keeps the rest. A summed counter keeps the last counts of workers that
// exited, so the cluster's counter never goes down.

import { METRIC_LIMITS, type MetricSnapshot } from "./_stats_message.ts";

/** One combined metric, ready to print. */
export interface AggregatedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly series: readonly { labels: Readonly<Record<string, string>>; value: number }[];
}

/**
 * Holds each live worker's last snapshot and the counts of exited workers.
 *
 * @example
 * ```ts
 * import { MetricsAggregator } from "./_metrics_aggregate.ts";
 * const aggregator = new MetricsAggregator();
 * const hits = { name: "hits_total", help: "", type: "counter", aggregate: "sum" } as const;
 * aggregator.update(1, [{ ...hits, series: [[{}, 2]] }]);
 * aggregator.update(2, [{ ...hits, series: [[{}, 3]] }]);
 * aggregator.collect()[0].series[0].value; // 5
 * ```
 */
export class MetricsAggregator {
  /** Each live worker's metrics: name → the metric, its values by label key. */
  #workers = new Map<number, Map<string, Kept>>();
  /** Labelled values each live worker has in `#workers`. */
  #seriesOf = new Map<number, number>();
  /** Summed counters of exited workers: name → label key → [labels, value]. */
  #retired = new Map<
    string,
    { help: string; values: Map<string, [Record<string, string>, number]> }
  >();
  /** Labelled values in `#retired`, all metrics together. */
  #retiredSeries = 0;

  /**
   * Worker `id` sent the values that changed. Returns why some were refused: a worker keeps at
   * most {@linkcode METRIC_LIMITS}`.families` metrics and `.series` values here (its own
   * registry's limits; one message is checked alone, a worker's sum of messages is checked
   * here), and a metric keeps its type and aggregation.
   */
  update(id: number, snapshot: MetricSnapshot[]): string | undefined {
    let families = this.#workers.get(id);
    if (!families) this.#workers.set(id, families = new Map());
    let count = this.#seriesOf.get(id) ?? 0, refused: string | undefined;
    for (const family of snapshot) {
      let kept = families.get(family.name);
      if (!kept) {
        if (families.size >= METRIC_LIMITS.families) {
          refused ??= `metrics: more than ${METRIC_LIMITS.families} metrics`;
          continue;
        }
        const { name, help, type, aggregate } = family;
        families.set(name, kept = { name, help, type, aggregate, values: new Map() });
      } else if (kept.type !== family.type || kept.aggregate !== family.aggregate) {
        refused ??= `metric "${family.name}": its type or aggregation changed`;
        continue;
      }
      kept.help = family.help;
      for (const [labels, value] of family.series) {
        const key = JSON.stringify(labels);
        const entry = kept.values.get(key);
        if (entry) entry[1] = value;
        else if (count >= METRIC_LIMITS.series) {
          refused ??= `metrics: more than ${METRIC_LIMITS.series} labelled values in all`;
        } else {
          kept.values.set(key, [labels, value]);
          count++;
        }
      }
    }
    this.#seriesOf.set(id, count);
    return refused;
  }

  /**
   * Worker `id` exited: its summed counters stay in the totals; the rest goes (its gauges, its
   * per-worker series). The counts kept of exited workers are bounded like one worker's:
   * {@linkcode METRIC_LIMITS}`.series` labelled values in all (label values that change with
   * every worker's life, a crash loop of recycled workers, would grow them forever); once full,
   * a new label set's count is added to its metric's unlabelled series, so the metric's total
   * stays right and only that split by labels is lost. Metrics beyond
   * {@linkcode METRIC_LIMITS}`.families` names are not kept.
   */
  retire(id: number): void {
    const families = this.#workers.get(id);
    this.#workers.delete(id);
    this.#seriesOf.delete(id);
    for (const family of families?.values() ?? []) {
      if (family.type !== "counter" || family.aggregate !== "sum") continue;
      let retired = this.#retired.get(family.name);
      if (!retired) {
        if (this.#retired.size >= METRIC_LIMITS.families) continue;
        this.#retired.set(family.name, retired = { help: family.help, values: new Map() });
      }
      for (const [labels, value] of family.values.values()) {
        this.#entry(retired.values, labels)[1] += value;
      }
    }
  }

  /** The kept count of `labels`, made (or the unlabelled one, when full) if there is none. */
  #entry(
    values: Map<string, [Record<string, string>, number]>,
    labels: Record<string, string>,
  ): [Record<string, string>, number] {
    let key = JSON.stringify(labels);
    let entry = values.get(key);
    if (entry) return entry;
    if (this.#retiredSeries >= METRIC_LIMITS.series) {
      labels = {};
      key = "{}";
      entry = values.get(key);
      if (entry) return entry;
    }
    values.set(key, entry = [labels, 0]);
    this.#retiredSeries++;
    return entry;
  }

  /** Every metric combined across workers, by name. */
  collect(): AggregatedMetric[] {
    const out = new Map<
      string,
      {
        help: string;
        type: "counter" | "gauge";
        aggregate: MetricSnapshot["aggregate"];
        series: Map<string, { labels: Record<string, string>; value: number }>;
      }
    >();
    const ids = [...this.#workers.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      for (const family of this.#workers.get(id)!.values()) {
        let target = out.get(family.name);
        if (!target) {
          target = {
            help: family.help,
            type: family.type,
            aggregate: family.aggregate,
            series: new Map(),
          };
          out.set(family.name, target);
        }
        // Workers disagreeing on a metric's kind (a half-finished deploy): the first one wins.
        if (target.type !== family.type || target.aggregate !== family.aggregate) continue;
        for (const [labels, value] of family.values.values()) {
          const own = family.aggregate === "worker" ? { ...labels, worker: String(id) } : labels;
          const key = JSON.stringify(own);
          const entry = target.series.get(key);
          if (!entry) target.series.set(key, { labels: own, value });
          else entry.value = combine(family.aggregate, entry.value, value);
        }
      }
    }
    for (const [name, retired] of this.#retired) {
      let target = out.get(name);
      if (!target) {
        target = { help: retired.help, type: "counter", aggregate: "sum", series: new Map() };
        out.set(name, target);
      }
      if (target.type !== "counter" || target.aggregate !== "sum") continue;
      for (const [key, [labels, value]] of retired.values) {
        const entry = target.series.get(key);
        if (entry) entry.value += value;
        else target.series.set(key, { labels, value });
      }
    }
    return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, m]) => ({
      name,
      help: m.help,
      type: m.type,
      series: [...m.series.values()],
    }));
  }
}

/** One metric of a live worker as kept here. */
interface Kept {
  readonly name: string;
  help: string;
  readonly type: "counter" | "gauge";
  readonly aggregate: MetricSnapshot["aggregate"];
  /** Label key → [labels, value]. */
  readonly values: Map<string, [Record<string, string>, number]>;
}

function combine(aggregate: MetricSnapshot["aggregate"], a: number, b: number): number {
  if (aggregate === "min") return Math.min(a, b);
  if (aggregate === "max") return Math.max(a, b);
  return a + b;
}
