// Unit tests of the stats and metrics core with fakes (no process): the collector's restarts by
// reason, rates, handoff histogram, readiness and reloads (src/_stats.ts); the stats message's
// validation (src/_stats_message.ts); worker metrics and their aggregation
// (src/_metrics_registry.ts, src/_metrics_aggregate.ts); the exposition (src/_metrics_text.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { MetricsAggregator } from "../src/_metrics_aggregate.ts";
import { RoundRobinHandle } from "../src/round_robin_handle.ts";
import type { Listener } from "../src/types.ts";
import { WorkerMetrics } from "../src/_metrics_registry.ts";
import { renderMetrics } from "../src/_metrics_text.ts";
import {
  StatsCollector,
  type StatsHost,
  type StatsListener,
  type StatsWorker,
} from "../src/_stats.ts";
import { parseStats, type StatsMessage } from "../src/_stats_message.ts";
import { Emitter } from "../src/emitter.ts";
import type { ClusterEvents } from "../src/events.ts";
import { Worker, type WorkerLink, type WorkerState } from "../src/worker.ts";

class FakeWorker implements StatsWorker, WorkerLink {
  readonly worker: Worker;
  pid: number | undefined = 100;
  state: WorkerState = "listening";
  isReady = true;
  connected = true;
  exitedAfterDisconnect = false;
  readonly id: number;
  readonly slot: number;
  constructor(id: number, slot: number) {
    this.id = id;
    this.slot = slot;
    this.worker = new Worker(id, this);
  }
  send(): Promise<void> {
    return Promise.resolve();
  }
  disconnect(): Promise<void> {
    return Promise.resolve();
  }
  kill(): void {}
}

class FakeCluster extends Emitter<ClusterEvents> {
  now = 0;
  live = new Map<number, FakeWorker>();
  slots = 0;
  shuttingDown = false;
  listeners: StatsListener[] = [];
  host: StatsHost = {
    workers: () => this.live.values(),
    listeners: () => this.listeners,
    activeSlots: () => this.slots,
    shuttingDown: () => this.shuttingDown,
    now: () => this.now,
    wallClock: () => 1_700_000_000_000 + this.now,
  };
  fork(id: number, slot: number): FakeWorker {
    const w = new FakeWorker(id, slot);
    this.live.set(id, w);
    this.emit("fork", w.worker);
    return w;
  }
  exit(w: FakeWorker, asked = false): void {
    w.exitedAfterDisconnect = asked;
    w.state = "dead";
    this.live.delete(w.id);
    this.emit("exit", w.worker, asked ? 0 : 1, null);
  }
}

const report = (
  requests: number,
  cpu: number,
  extra: Partial<StatsMessage> = {},
): StatsMessage => ({
  cmd: "stats",
  requests,
  rss: 1000,
  cpu,
  lag: 0.002,
  ...extra,
});

test("stats() counts restarts by reason per slot and in total", () => {
  const c = new FakeCluster();
  const stats = new StatsCollector(c.host, c);
  c.slots = 2;
  const a = c.fork(1, 0), b = c.fork(2, 1);
  c.exit(a); // a crash
  const a2 = c.fork(3, 0);
  c.emit("unresponsive", a2.worker);
  c.exit(a2);
  const a3 = c.fork(4, 0);
  c.emit("recycle", b.worker, "memory");
  const b2 = c.fork(5, 1);
  c.exit(b, true);
  let resolve!: () => void;
  stats.reload(() => {
    c.fork(6, 1); // the reload's replacement of b2, forked at once
    return new Promise<void>((r) => (resolve = r));
  });
  c.exit(b2, true);
  const s = stats.snapshot();
  const slot0 = s.workers.find((w) => w.id === a3.id)!;
  assert.deepEqual(slot0.restartsByReason, {
    crash: 1,
    unresponsive: 1,
    reload: 0,
    max_requests: 0,
    max_memory: 0,
  });
  assert.equal(slot0.restarts, 2);
  assert.deepEqual(s.totals.restartsByReason, {
    crash: 1,
    unresponsive: 1,
    reload: 1,
    max_requests: 0,
    max_memory: 1,
  });
  assert.equal(s.totals.restarts, 4);
  assert.equal(s.reloads.total, 1);
  assert.equal(s.reloads.running, true);
  resolve();
});

test("stats() derives rates from the last two reports and keeps exited workers' requests", () => {
  const c = new FakeCluster();
  const stats = new StatsCollector(c.host, c);
  c.slots = 2;
  const a = c.fork(1, 0), b = c.fork(2, 1);
  let s = stats.snapshot();
  assert.equal(s.workers[0].requests, null);
  assert.equal(s.workers[0].requestsPerSecond, null);
  stats.report(a, report(10, 1));
  stats.report(b, report(5, 1, { connections: 3 }));
  c.now = 500;
  stats.report(a, report(60, 1.25));
  c.now = 600;
  s = stats.snapshot();
  const w1 = s.workers[0];
  assert.equal(w1.requests, 60);
  assert.equal(w1.requestsPerSecond, 100); // 50 requests in 0.5 s
  assert.equal(w1.cpuPercent, 50); // 0.25 s of CPU in 0.5 s
  assert.equal(w1.reportAge, 0.1);
  assert.equal(w1.activeConnections, null); // its servers cannot tell
  assert.equal(s.workers[1].activeConnections, 3);
  assert.equal(s.totals.requests, 65);
  c.exit(a);
  s = stats.snapshot();
  assert.equal(s.totals.requests, 65, "the exited worker's requests stay in the total");
  assert.equal(s.totals.workers, 1);
});

test("stats() histograms handoff latency per listen key and counts refusals", () => {
  const c = new FakeCluster();
  const stats = new StatsCollector(c.host, c);
  const a = c.fork(1, 0);
  c.listeners = [{
    key: "round-robin||80",
    policy: "round-robin",
    workers: 1,
    queued: 2,
    dropped: 1,
  }];
  stats.handedOff(a, "round-robin||80", 0.0004, true);
  stats.handedOff(a, "round-robin||80", 0.003, true);
  stats.handedOff(a, "round-robin||80", 2, true);
  stats.handedOff(a, "round-robin||80", 0.001, false);
  const [l] = stats.snapshot().listeners;
  assert.equal(l.handoffs, 3);
  assert.equal(l.handoffsRefused, 1);
  assert.equal(l.queued, 2);
  assert.equal(l.dropped, 1);
  assert.equal(l.handoffLatency.count, 3);
  assert.equal(l.handoffLatency.max, 2);
  const le = new Map(l.handoffLatency.buckets);
  assert.equal(le.get(0.0005), 1);
  assert.equal(le.get(0.005), 2);
  assert.equal(le.get(1), 2, "2 s is only in the +Inf bucket (count)");
  assert.equal(stats.snapshot().workers[0].handoffs, 3);
});

test("ready() is true only when every slot has a ready worker that is not leaving", () => {
  const c = new FakeCluster();
  const stats = new StatsCollector(c.host, c);
  assert.equal(stats.ready(), false, "no slots yet: starting");
  c.slots = 2;
  const a = c.fork(1, 0);
  const b = c.fork(2, 1);
  b.isReady = false;
  assert.equal(stats.ready(), false);
  b.isReady = true;
  assert.equal(stats.ready(), true);
  a.exitedAfterDisconnect = true; // draining, its replacement not ready
  const a2 = c.fork(3, 0);
  a2.isReady = false;
  assert.equal(stats.ready(), false);
  a2.isReady = true;
  assert.equal(stats.ready(), true);
  c.shuttingDown = true;
  assert.equal(stats.ready(), false);
});

test("reload() counts each reload once, its failure and its duration", async () => {
  const c = new FakeCluster();
  const stats = new StatsCollector(c.host, c);
  const first = Promise.resolve();
  let joined = 0;
  stats.reload(() => first);
  stats.reload(() => (joined++, first)); // a call that joins the running reload
  c.now = 2500;
  await first;
  await null;
  const failing = Promise.reject(new Error("no"));
  stats.reload(() => failing);
  await failing.catch(() => {});
  await null;
  const s = stats.snapshot().reloads;
  assert.equal(s.total, 2);
  assert.equal(s.failed, 1);
  assert.equal(s.running, false);
  assert.equal(s.lastDuration, 0);
  assert.equal(joined, 1);
});

test("parseStats() accepts a report and rejects malformed ones", () => {
  const ok = {
    cmd: "stats",
    requests: 1,
    rss: 2,
    cpu: 0.5,
    lag: 0,
    connections: 4,
    metrics: [{
      name: "a_total",
      help: "h",
      type: "counter",
      aggregate: "sum",
      series: [[{ b: "c" }, 1]],
    }],
  };
  assert.deepEqual(parseStats(ok), ok);
  const bad: [string, Record<string, unknown>][] = [
    ["negative requests", { ...ok, requests: -1 }],
    ["NaN lag", { ...ok, lag: NaN }],
    ["bad connections", { ...ok, connections: 1.5 }],
  ];
  for (const [what, message] of bad) {
    assert.equal(typeof parseStats(message), "string", what);
  }
  // Metrics that would break or spoof /metrics are left out; the report and the rest stand.
  const family = ok.metrics[0];
  const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, "v"]));
  const refusedFamilies: [string, Record<string, unknown>][] = [
    ["bad name", { ...family, name: "1x" }],
    ["reserved name", { ...family, name: "x_cluster_ready", type: "gauge" }],
    ["reserved histogram part", { ...family, name: "x_cluster_handoff_duration_seconds_bucket" }],
    ["counter without _total", { ...family, name: "a" }],
    ["reserved label", { ...family, name: "b_total", series: [[{ worker: "1" }, 1]] }],
    ["33 labels", { ...family, name: "b_total", series: [[many, 1]] }],
    ["long label name", { ...family, name: "b_total", series: [[{ ["l".repeat(201)]: "" }, 1]] }],
    ["bad aggregate", { ...family, name: "b_total", aggregate: "avg" }],
    ["bad value", { ...family, name: "b_total", series: [[{}, "1"]] }],
    ["duplicate", family],
  ];
  for (const [what, bad] of refusedFamilies) {
    const parsed = parseStats({ ...ok, metrics: [family, bad] });
    assert.ok(typeof parsed !== "string", what);
    assert.deepEqual(parsed.metrics, [family], what);
    assert.equal(typeof parsed.refused, "string", what);
    assert.equal(parsed.requests, 1, what);
  }
  const tooMany = Array.from({ length: 501 }, (_, i) => ({ ...family, name: `m${i}_total` }));
  for (const metrics of [{}, tooMany]) {
    const parsed = parseStats({ ...ok, metrics });
    assert.ok(typeof parsed !== "string");
    assert.equal(parsed.metrics, undefined, "the worker's last accepted metrics stand");
    assert.match(parsed.refused!, /^metrics: /);
  }
});

test("whatever a worker sends, the rendered /metrics has each family once", () => {
  const c = new FakeCluster();
  c.slots = 1;
  c.fork(1, 0);
  const collector = new StatsCollector(c.host, c);
  const parsed = parseStats({
    cmd: "stats",
    requests: 0,
    rss: 0,
    cpu: 0,
    lag: 0,
    metrics: [
      { name: "x_cluster_ready", help: "spoof", type: "gauge", aggregate: "max", series: [[{}, 1]] },
      { name: "x_cluster_workers", help: "", type: "gauge", aggregate: "sum", series: [[{}, 9]] },
    ],
  });
  assert.ok(typeof parsed !== "string");
  const text = renderMetrics(collector.snapshot(), collector.slotRestarts(), [
    ...collector.metrics.collect(),
    // what the aggregator would hold had the message been accepted:
    ...(parsed.metrics ?? []).map((m) => ({ name: m.name, help: m.help, type: m.type, series: [] })),
  ]);
  const types = text.split("\n").filter((l) => l.startsWith("# TYPE "));
  assert.equal(new Set(types).size, types.length, text);
});

test("WorkerMetrics validates names and labels, and snapshots only after a change", () => {
  const m = new WorkerMetrics();
  assert.throws(() => m.counter("hits", ""), /must end in "_total"/);
  assert.throws(() => m.gauge("x_cluster_mine", ""), /prefix "x_cluster_"/);
  assert.throws(() => m.gauge("bad-name", ""), /must match/);
  const hits = m.counter("hits_total", "Hits");
  m.counter("hits_total", "Hits").inc(2); // the same counter again
  assert.throws(() => m.gauge("hits_total", ""), /exists already as a counter/);
  assert.throws(() => hits.inc(-1), RangeError);
  assert.throws(() => hits.inc(1, { worker: "1" }), /not be "worker"/);
  const g = m.gauge("queue", "Queue", { aggregate: "max" });
  hits.inc();
  hits.inc(2, { route: "/a" });
  g.set(5);
  g.dec(2);
  const snapshot = m.takeSnapshot()!;
  assert.deepEqual(snapshot.map((f) => [f.name, f.series]), [
    ["hits_total", [[{}, 3], [{ route: "/a" }, 2]]],
    ["queue", [[{}, 3]]],
  ]);
  assert.equal(m.takeSnapshot(), undefined, "nothing changed");
  hits.inc();
  assert.deepEqual(m.takeSnapshot()!.map((f) => [f.name, f.series]), [
    ["hits_total", [[{}, 4]]],
  ], "only what changed rides the next report");
});

test("MetricsAggregator keeps what a worker did not resend, within the worker's limits", () => {
  const agg = new MetricsAggregator();
  const hits = (series: [Record<string, string>, number][]) => ({
    name: "hits_total",
    help: "",
    type: "counter" as const,
    aggregate: "sum" as const,
    series,
  });
  assert.equal(agg.update(1, [hits([[{ route: "/a" }, 1], [{ route: "/b" }, 2]])]), undefined);
  assert.equal(agg.update(1, [hits([[{ route: "/a" }, 5]])]), undefined);
  assert.deepEqual(agg.collect()[0].series, [
    { labels: { route: "/a" }, value: 5 },
    { labels: { route: "/b" }, value: 2 },
  ]);
  // 10,000 values in all per worker, however many messages bring them.
  for (let n = 0; n < 4; n++) {
    const series = Array.from({ length: 3_000 }, (_, i) => [{ n: `${n}-${i}` }, 1] as const);
    const refused = agg.update(1, [hits(series.map(([l, v]) => [l, v]))]);
    assert.equal(refused === undefined, n < 3, `message ${n}: ${refused}`);
  }
  assert.equal(agg.collect()[0].series.length, 10_000);
  assert.match(
    agg.update(1, [{ ...hits([]), type: "gauge", name: "hits_total" }])!,
    /type or aggregation changed/,
  );
  agg.retire(1);
  assert.equal(agg.collect()[0].series.reduce((sum, s) => sum + s.value, 0), 5 + 2 + 9_998);
});

test("MetricsAggregator sums, takes min/max, labels per worker and keeps exited counters", () => {
  const agg = new MetricsAggregator();
  const family = (
    name: string,
    type: "counter" | "gauge",
    aggregate: "sum" | "max" | "worker",
    value: number,
  ) => ({
    name,
    help: name,
    type,
    aggregate,
    series: [[{ route: "/" }, value]] as [Record<string, string>, number][],
  });
  agg.update(1, [
    family("hits_total", "counter", "sum", 3),
    family("peak", "gauge", "max", 7),
    family("busy", "gauge", "worker", 1),
  ]);
  agg.update(2, [
    family("hits_total", "counter", "sum", 4),
    family("peak", "gauge", "max", 9),
    family("busy", "gauge", "worker", 0),
  ]);
  const get = () =>
    Object.fromEntries(
      agg.collect().map((m) => [m.name, m.series.map((s) => [s.labels, s.value])]),
    );
  assert.deepEqual(get(), {
    busy: [[{ route: "/", worker: "1" }, 1], [{ route: "/", worker: "2" }, 0]],
    hits_total: [[{ route: "/" }, 7]],
    peak: [[{ route: "/" }, 9]],
  });
  agg.retire(2);
  agg.update(3, [family("hits_total", "counter", "sum", 1)]);
  assert.deepEqual(get(), {
    busy: [[{ route: "/", worker: "1" }, 1]],
    hits_total: [[{ route: "/" }, 8]],
    peak: [[{ route: "/" }, 7]],
  });
});

test("MetricsAggregator bounds what it keeps of exited workers, and their totals stay", () => {
  const agg = new MetricsAggregator();
  const counter = (name: string, series: [Record<string, string>, number][]) => ({
    name,
    help: "",
    type: "counter" as const,
    aggregate: "sum" as const,
    series,
  });
  // 50 recycled workers, each with 10,000 label values of its own (a pid, a port).
  for (let id = 1; id <= 50; id++) {
    agg.update(id, [
      counter("c_total", Array.from({ length: 10_000 }, (_, i) => [{ life: `${id}-${i}` }, 1])),
      { name: "g", help: "", type: "gauge", aggregate: "worker", series: [[{}, id]] },
    ]);
    agg.retire(id);
  }
  const [c, ...rest] = agg.collect();
  assert.deepEqual(rest, [], "the gone workers' gauges are dropped");
  assert.ok(c.series.length <= 10_001, `${c.series.length} series kept`);
  assert.equal(c.series.reduce((sum, s) => sum + s.value, 0), 500_000, "the total stays");
  assert.equal(c.series.find((s) => Object.keys(s.labels).length === 0)?.value, 490_000);
  // A live worker's unlabelled series adds to the folded one; the first worker's labels stay.
  agg.update(51, [counter("c_total", [[{}, 5], [{ life: "1-0" }, 2]])]);
  const live = agg.collect()[0].series;
  assert.equal(live.find((s) => Object.keys(s.labels).length === 0)?.value, 490_005);
  assert.equal(live.find((s) => s.labels.life === "1-0")?.value, 3);
  // Fresh metric names every life: at most 500 are kept.
  for (let id = 100; id < 700; id++) {
    agg.update(id, [counter(`m${id}_total`, [[{}, 1]])]);
    agg.retire(id);
  }
  assert.ok(agg.collect().length <= 500);
});

test("the primary's lag is the longest of the last 60 s, whoever read it; its monitor starts late", () => {
  const c = new FakeCluster();
  const collector = new StatsCollector(c.host, c);
  // A fake monitor like the adapters': each read() returns the longest lag since the last one.
  let started = 0, stopped = 0, pending = 0;
  collector.monitor(() => {
    started++;
    return {
      read: () => {
        const lag = pending;
        pending = 0;
        return { rss: 5e7, cpuSeconds: 1, eventLoopLag: lag };
      },
      stop: () => void stopped++,
    };
  });
  assert.equal(started, 0, "no timer in a primary nobody reads");
  assert.equal(collector.snapshot().primary.eventLoopLag, 0);
  assert.equal(started, 1);
  pending = 0.3; // a 300 ms block
  c.now = 2_000;
  assert.equal(collector.snapshot().primary.eventLoopLag, 0.3, "a /readyz probe sees it");
  c.now = 3_000;
  assert.equal(collector.snapshot().primary.eventLoopLag, 0.3, "and so does the next scrape");
  c.now = 45_000;
  pending = 0.05;
  assert.equal(collector.snapshot().primary.eventLoopLag, 0.3);
  c.now = 63_000;
  assert.equal(collector.snapshot().primary.eventLoopLag, 0.05, "the block left the window");
  c.now = 200_000;
  assert.equal(collector.snapshot().primary.eventLoopLag, 0);
  collector.stop();
  assert.equal(stopped, 1);
  collector.snapshot();
  assert.equal(started, 1, "not started again after stop()");
});

test("renderMetrics() names, escapes and omits unknown values", () => {
  const c = new FakeCluster();
  const stats = new StatsCollector(c.host, c);
  c.slots = 1;
  c.fork(1, 0);
  const agg = new MetricsAggregator();
  agg.update(1, [{
    name: "app_total",
    help: 'a "quoted"\nhelp',
    type: "counter",
    aggregate: "sum",
    series: [[{ path: 'a"b\\c\nd' }, 2]],
  }]);
  const text = renderMetrics(stats.snapshot(), stats.slotRestarts(), agg.collect());
  assert.match(text, /^# TYPE x_cluster_ready gauge\nx_cluster_ready 1$/m);
  assert.match(
    text,
    /^x_cluster_worker_info\{worker="1",slot="0",pid="100",state="listening"\} 1$/m,
  );
  assert.doesNotMatch(text, /^x_cluster_worker_requests_total\{/m, "no report yet: no sample");
  assert.match(text, /^# HELP app_total a "quoted"\\nhelp$/m);
  assert.match(text, /^app_total\{path="a\\"b\\\\c\\nd"\} 2$/m);
  assert.ok(text.endsWith("\n"));
});

test("reload() counts the connections the primary dropped while it ran", async () => {
  const c = new FakeCluster();
  const stats = new StatsCollector(c.host, c);
  const listener = {
    key: "round-robin||80",
    policy: "round-robin" as const,
    workers: 2,
    queued: 0,
    dropped: 3,
  };
  c.listeners = [listener];
  let resolve!: () => void;
  const reloading = stats.reload(() => new Promise<void>((r) => (resolve = r)));
  listener.dropped = 5;
  resolve();
  await reloading;
  listener.dropped = 9; // after the reload: not the reload's
  const s = stats.snapshot();
  assert.equal(s.reloads.droppedConnections, 2);
  assert.equal(s.listeners[0].dropped, 9);
});

test("RoundRobinHandle counts a connection every worker refused as dropped", async () => {
  const released: unknown[] = [];
  const listener: Listener = {
    address: { hostname: "127.0.0.1", port: 80, family: "IPv4" },
    handle: undefined,
    close: () => Promise.resolve(),
    release: (connection) => void released.push(connection),
  };
  const rr = new RoundRobinHandle("round-robin||80", { maxInFlight: 4, maxQueue: 10 });
  rr.listener = listener;
  rr.add({ id: 1, handoff: () => Promise.resolve(false) });
  rr.distribute("connection");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(rr.dropped, 1);
  assert.deepEqual(released, ["connection"]);
});
