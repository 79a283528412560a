// The primary's side of `Cluster.stats()`: it keeps each worker's last two `stats` reports, times
// round-robin handoffs, counts restarts by reason (from the cluster's own events: an `exit` not
// asked for, `unresponsive`, `recycle`, and forks while a reload runs) and reloads, and builds
// the snapshot. It reads the registry, the broker and the supervisor through `StatsHost`, so
// the unit tests drive it with fakes.

import { MetricsAggregator } from "./_metrics_aggregate.ts";
import type { StatsMessage } from "./_stats_message.ts";
import type { Emitter } from "./emitter.ts";
import type { ClusterEvents } from "./events.ts";
import {
  type ClusterStats,
  type DurationHistogram,
  type ListenerStats,
  RESTART_REASONS,
  type RestartCounts,
  type RestartReason,
  type WorkerStats,
} from "./stats.ts";
import type { Policy, ProcessMonitor } from "./types.ts";
import type { WorkerState } from "./worker.ts";

/** Upper bounds (seconds) of the handoff-latency histogram (and `+Inf`, implied). */
export const HANDOFF_BUCKETS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  1,
];

/**
 * The primary's event-loop lag in `stats()` is the longest of this recent window (ms), one a
 * Prometheus scrape at the usual 15–60 s interval does not miss.
 */
export const PRIMARY_LAG_WINDOW_MS = 60_000;

/** What the collector reads of one live worker. */
export interface StatsWorker {
  readonly id: number;
  readonly slot: number;
  readonly pid: number | undefined;
  readonly state: WorkerState;
  readonly isReady: boolean;
  readonly connected: boolean;
  readonly exitedAfterDisconnect: boolean;
}

/** One listen address as the broker holds it. */
export interface StatsListener {
  readonly key: string;
  readonly policy: Policy;
  readonly workers: number;
  readonly queued: number | null;
  /** Connections the primary closed without a worker taking them (round-robin; else null). */
  readonly dropped: number | null;
}

/** What the collector reads of its cluster. */
export interface StatsHost {
  /** Live workers. */
  workers(): Iterable<StatsWorker>;
  /** Listen addresses. */
  listeners(): Iterable<StatsListener>;
  /** Slots neither retired nor stopped. */
  activeSlots(): number;
  shuttingDown(): boolean;
  /** Monotonic ms. */
  now(): number;
  /** Wall clock, ms since the epoch. */
  wallClock(): number;
}

interface Figures {
  forkedAt: number;
  last: { at: number; message: StatsMessage } | undefined;
  previous: { at: number; message: StatsMessage } | undefined;
  handoffs: number;
}

class Histogram {
  counts = HANDOFF_BUCKETS.map(() => 0);
  count = 0;
  sum = 0;
  max = 0;
  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    if (seconds > this.max) this.max = seconds;
    const i = HANDOFF_BUCKETS.findIndex((le) => seconds <= le);
    if (i !== -1) this.counts[i]++;
  }
  read(): DurationHistogram {
    let cumulative = 0;
    const buckets = HANDOFF_BUCKETS.map((le, i) => [le, cumulative += this.counts[i]] as const);
    return { count: this.count, sum: this.sum, max: this.max, buckets };
  }
}

function noRestarts(): RestartCounts {
  return { crash: 0, unresponsive: 0, reload: 0, max_requests: 0, max_memory: 0 };
}

/**
 * Collects what `Cluster.stats()` shows.
 *
 * @example
 * ```ts ignore
 * const stats = new StatsCollector(host, cluster);
 * record.onStats = (message) => stats.report(record, message);
 * console.log(stats.snapshot().totals.requests);
 * ```
 */
export class StatsCollector {
  #host: StatsHost;
  #createdAt: number;
  #figures = new Map<number, Figures>();
  #slotsSeen = new Set<number>();
  #pending = new Map<number, RestartReason>();
  #restarts = new Map<number, RestartCounts>();
  #totalRestarts = noRestarts();
  #retiredRequests = 0;
  #listeners = new Map<string, { handoffs: number; refused: number; latency: Histogram }>();
  #reloads = {
    total: 0,
    failed: 0,
    starting: false,
    running: undefined as Promise<void> | undefined,
  };
  #lastReload: number | null = null;
  #reloadRefused = 0;
  #reloadDropped = 0;
  #startMonitor: (() => ProcessMonitor) | undefined;
  #monitor: ProcessMonitor | undefined;
  #stopped = false;
  #primary: { rss: number; cpuSeconds: number } | undefined;
  /** The primary's lag readings of the last {@linkcode PRIMARY_LAG_WINDOW_MS}, one per second. */
  #lags: { at: number; lag: number }[] = [];
  /** The application metrics of every worker, combined. */
  readonly metrics: MetricsAggregator = new MetricsAggregator();

  constructor(host: StatsHost, events: Emitter<ClusterEvents>) {
    this.#host = host;
    this.#createdAt = host.now();
    events.on("fork", (worker) => this.#forked(worker.id, worker.slot));
    events.on(
      "exit",
      (worker) => this.#exited(worker.id, worker.slot, worker.exitedAfterDisconnect),
    );
    events.on("unresponsive", (worker) => this.#pending.set(worker.slot, "unresponsive"));
    events.on("recycle", (worker, reason) => {
      this.#pending.set(worker.slot, reason === "requests" ? "max_requests" : "max_memory");
    });
  }

  /**
   * Measures the primary too (once the adapter is loaded). Given a function, it makes the
   * monitor at the first `snapshot()`, so its timer does not run in a primary nobody reads.
   */
  monitor(start: ProcessMonitor | (() => ProcessMonitor)): void {
    if (typeof start === "function") this.#startMonitor = start;
    else if (this.#stopped) start.stop();
    else this.#monitor = start;
  }

  /** Stops measuring the primary (shutdown). */
  stop(): void {
    this.#stopped = true;
    this.#monitor?.stop();
  }

  /** A worker's `stats` message; returns why some of its metrics were refused, if they were. */
  report(worker: StatsWorker, message: StatsMessage): string | undefined {
    const figures = this.#figures.get(worker.id);
    if (!figures) return undefined;
    figures.previous = figures.last;
    figures.last = { at: this.#host.now(), message };
    return message.metrics ? this.metrics.update(worker.id, message.metrics) : undefined;
  }

  /** A round-robin handoff to `worker` on `key` was answered after `seconds`. */
  handedOff(worker: StatsWorker, key: string, seconds: number, accepted: boolean): void {
    let listener = this.#listeners.get(key);
    if (!listener) {
      this.#listeners.set(key, listener = { handoffs: 0, refused: 0, latency: new Histogram() });
    }
    const figures = this.#figures.get(worker.id);
    if (accepted) {
      listener.handoffs++;
      listener.latency.observe(seconds);
      if (figures) figures.handoffs++;
    } else {
      listener.refused++;
      if (this.#reloads.running || this.#reloads.starting) this.#reloadRefused++;
    }
  }

  /** A reload is running (a `reload()` now joins it). */
  get reloading(): boolean {
    return this.#reloads.running !== undefined;
  }

  /**
   * Runs `start` (the supervisor's `reload()`) as a reload: counted once (a call that joins a
   * running reload is the same one), with its failure and duration. Forks made while `start`
   * runs synchronously (the first replacements) already count as reload restarts.
   */
  reload(start: () => Promise<void>): Promise<void> {
    if (this.#reloads.running) return start();
    this.#reloads.starting = true;
    let reloading: Promise<void>;
    try {
      reloading = start();
    } finally {
      this.#reloads.starting = false;
    }
    this.#reloads.total++;
    this.#reloads.running = reloading;
    const startedAt = this.#host.now();
    const droppedBefore = this.#droppedNow();
    const done = (failed: boolean) => {
      if (this.#reloads.running !== reloading) return;
      this.#reloads.running = undefined;
      this.#reloadDropped += Math.max(0, this.#droppedNow() - droppedBefore);
      if (failed) this.#reloads.failed++;
      this.#lastReload = (this.#host.now() - startedAt) / 1000;
    };
    reloading.then(() => done(false), () => done(true));
    return reloading;
  }

  /** Restarts by reason of every slot that had one (retired slots included). */
  slotRestarts(): ReadonlyMap<number, Readonly<RestartCounts>> {
    return this.#restarts;
  }

  /** Slots that have a ready worker which is not leaving. */
  readySlots(): number {
    const slots = new Set<number>();
    for (const w of this.#host.workers()) {
      if (w.isReady && w.connected && !w.exitedAfterDisconnect && w.state !== "dead") {
        slots.add(w.slot);
      }
    }
    return slots.size;
  }

  /** What `/readyz` says: started, every slot ready, not shutting down. */
  ready(): boolean {
    const slots = this.#host.activeSlots();
    return !this.#host.shuttingDown() && slots > 0 && this.readySlots() >= slots;
  }

  /** The snapshot `Cluster.stats()` returns. */
  snapshot(): ClusterStats {
    const now = this.#host.now();
    if (!this.#monitor && this.#startMonitor && !this.#stopped) {
      this.#monitor = this.#startMonitor();
    }
    if (this.#monitor && !this.#stopped) {
      const { rss, cpuSeconds, eventLoopLag } = this.#monitor.read();
      this.#primary = { rss, cpuSeconds };
      this.#lagRead(now, eventLoopLag);
    }
    const workers: WorkerStats[] = [];
    let ready = 0, requests = this.#retiredRequests, perSecond = 0, active = 0, rss = 0, cpu = 0;
    for (const w of this.#host.workers()) {
      const stats = this.#worker(w, now);
      workers.push(stats);
      if (stats.ready) ready++;
      requests += stats.requests ?? 0;
      perSecond += stats.requestsPerSecond ?? 0;
      active += stats.activeConnections ?? 0;
      rss += stats.rss ?? 0;
      cpu += stats.cpuSeconds ?? 0;
    }
    workers.sort((a, b) => a.id - b.id);
    const listeners: ListenerStats[] = [];
    for (const l of this.#host.listeners()) {
      const counted = this.#listeners.get(l.key);
      listeners.push({
        key: l.key,
        policy: l.policy,
        workers: l.workers,
        queued: l.queued,
        dropped: l.dropped,
        handoffs: counted?.handoffs ?? 0,
        handoffsRefused: counted?.refused ?? 0,
        handoffLatency: (counted?.latency ?? new Histogram()).read(),
      });
    }
    const restartsByReason = { ...this.#totalRestarts };
    return {
      time: this.#host.wallClock(),
      uptime: (now - this.#createdAt) / 1000,
      ready: this.ready(),
      shuttingDown: this.#host.shuttingDown(),
      primary: {
        rss: this.#primary?.rss ?? null,
        cpuSeconds: this.#primary?.cpuSeconds ?? null,
        eventLoopLag: this.#primary ? Math.max(...this.#lags.map((l) => l.lag)) : null,
      },
      workers,
      totals: {
        workers: workers.length,
        ready,
        slots: this.#host.activeSlots(),
        readySlots: this.readySlots(),
        requests,
        requestsPerSecond: perSecond,
        activeConnections: active,
        rss,
        cpuSeconds: cpu,
        restartsByReason,
        restarts: sum(restartsByReason),
      },
      listeners: listeners.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
      reloads: {
        total: this.#reloads.total,
        failed: this.#reloads.failed,
        running: this.#reloads.running !== undefined,
        lastDuration: this.#lastReload,
        handoffsRefused: this.#reloadRefused,
        droppedConnections: this.#reloadDropped,
      },
    };
  }

  /**
   * A reading of the primary's monitor (the longest lag since the previous one). Every reader
   * (`/readyz` probes, scrapes, `status`, the live view) reads it, and a read resets the
   * monitor's window, so the readings are kept for a window of their own that no reader resets:
   * a block between two probes is still there at the next scrape.
   */
  #lagRead(now: number, lag: number): void {
    while (this.#lags.length > 0 && now - this.#lags[0].at > PRIMARY_LAG_WINDOW_MS) {
      this.#lags.shift();
    }
    const last = this.#lags.at(-1);
    // Readings within a second share an entry: the window holds about 60, however often read.
    if (last && now - last.at < 1000) last.lag = Math.max(last.lag, lag);
    else this.#lags.push({ at: now, lag });
  }

  /** Connections every listener dropped so far (a listener closed since is not counted). */
  #droppedNow(): number {
    let dropped = 0;
    for (const l of this.#host.listeners()) dropped += l.dropped ?? 0;
    return dropped;
  }

  #worker(w: StatsWorker, now: number): WorkerStats {
    const figures = this.#figures.get(w.id);
    const last = figures?.last, previous = figures?.previous;
    const span = last && previous ? (last.at - previous.at) / 1000 : 0;
    const rate = (read: (m: StatsMessage) => number, scale = 1) =>
      last && previous && span > 0
        ? Math.max(0, (read(last.message) - read(previous.message)) / span) * scale
        : null;
    const byReason = { ...(this.#restarts.get(w.slot) ?? noRestarts()) };
    return {
      id: w.id,
      pid: w.pid ?? null,
      slot: w.slot,
      state: w.state,
      ready: w.isReady && w.state !== "dead",
      uptime: figures ? (now - figures.forkedAt) / 1000 : 0,
      restarts: sum(byReason),
      restartsByReason: byReason,
      requests: last?.message.requests ?? null,
      requestsPerSecond: rate((m) => m.requests),
      activeConnections: last?.message.connections ?? null,
      rss: last?.message.rss ?? null,
      cpuSeconds: last?.message.cpu ?? null,
      cpuPercent: rate((m) => m.cpu, 100),
      eventLoopLag: last?.message.lag ?? null,
      handoffs: figures?.handoffs ?? 0,
      reportAge: last ? (now - last.at) / 1000 : null,
    };
  }

  #forked(id: number, slot: number): void {
    this.#figures.set(id, {
      forkedAt: this.#host.now(),
      last: undefined,
      previous: undefined,
      handoffs: 0,
    });
    if (!this.#slotsSeen.has(slot)) {
      this.#slotsSeen.add(slot);
      return;
    }
    // A known slot forks again: a restart, for the reason its last worker left with, or a
    // reload's replacement.
    const reason = this.#pending.get(slot) ??
      (this.#reloads.running || this.#reloads.starting ? "reload" : "crash");
    this.#pending.delete(slot);
    let counts = this.#restarts.get(slot);
    if (!counts) this.#restarts.set(slot, counts = noRestarts());
    counts[reason]++;
    this.#totalRestarts[reason]++;
  }

  #exited(id: number, slot: number, asked: boolean): void {
    const figures = this.#figures.get(id);
    this.#retiredRequests += figures?.last?.message.requests ?? 0;
    this.#figures.delete(id);
    this.metrics.retire(id);
    if (!asked && !this.#pending.has(slot)) this.#pending.set(slot, "crash");
  }
}

function sum(counts: RestartCounts): number {
  let total = 0;
  for (const reason of RESTART_REASONS) total += counts[reason];
  return total;
}
