/**
 * The shape of `Cluster.stats()`: what the primary knows of its workers, listen addresses and
 * reloads at one moment, as plain data (what `x-cluster status` shows and `/metrics` exports).
 * Figures a worker reports (requests, rss, CPU, event-loop lag, open connections) are as old as
 * its last `stats` message (`statsInterval`, default 1 s); `null` until the first one arrives,
 * and always `null` with `statsInterval: 0`. Times are in seconds, sizes in bytes.
 *
 * @module
 */

import type { Policy } from "./types.ts";
import type { WorkerState } from "./worker.ts";

/** Why a slot got a new worker. */
export type RestartReason = "crash" | "unresponsive" | "reload" | "max_requests" | "max_memory";

/** The restart reasons, in a fixed order. */
export const RESTART_REASONS: readonly RestartReason[] = [
  "crash",
  "unresponsive",
  "reload",
  "max_requests",
  "max_memory",
];

/** Restarts by reason. */
export type RestartCounts = Record<RestartReason, number>;

/** One live worker. */
export interface WorkerStats {
  /** The worker's id (`Worker.id`). */
  readonly id: number;
  /** OS process id (`null` until spawned). */
  readonly pid: number | null;
  /** Its slot, kept across restarts and reloads. */
  readonly slot: number;
  /** Its lifecycle state. */
  readonly state: WorkerState;
  /** Ready for traffic (per the cluster's `readiness`). */
  readonly ready: boolean;
  /** Seconds since it was forked. */
  readonly uptime: number;
  /** Times its slot got a new worker before this one (every reason). */
  readonly restarts: number;
  /** Its slot's restarts by reason. */
  readonly restartsByReason: Readonly<RestartCounts>;
  /** Requests (HTTP) or connections (plain TCP servers) it served, by every server it ran. */
  readonly requests: number | null;
  /** Requests per second between its last two reports. */
  readonly requestsPerSecond: number | null;
  /**
   * Connections open now on its node:http / node:net servers; `null` while one of its servers
   * cannot tell (the runtime's own `Deno.serve` / `Bun.serve`).
   */
  readonly activeConnections: number | null;
  /** Resident memory. */
  readonly rss: number | null;
  /** CPU time used (user + system). */
  readonly cpuSeconds: number | null;
  /** CPU use between its last two reports, in % of one core. */
  readonly cpuPercent: number | null;
  /** Longest event-loop delay during its last report interval. */
  readonly eventLoopLag: number | null;
  /** Connections the primary handed it (round-robin). */
  readonly handoffs: number;
  /** Seconds since its last report (`null`: none yet). */
  readonly reportAge: number | null;
}

/** A histogram of durations in seconds: cumulative counts per upper bound, as Prometheus has. */
export interface DurationHistogram {
  /** Observations. */
  readonly count: number;
  /** Their sum, seconds. */
  readonly sum: number;
  /** The longest, seconds. */
  readonly max: number;
  /** `[upper bound, observations <= it]`, ascending; `count` is the `+Inf` bucket. */
  readonly buckets: readonly (readonly [le: number, count: number])[];
}

/** One listen address the primary brokers. */
export interface ListenerStats {
  /** `"policy|host|port"`. */
  readonly key: string;
  /** How its connections reach workers. */
  readonly policy: Policy;
  /** Workers serving it. */
  readonly workers: number;
  /** Connections accepted by the primary and waiting for a worker (round-robin; else null). */
  readonly queued: number | null;
  /** Connections handed to workers (round-robin). */
  readonly handoffs: number;
  /** Handoffs a worker refused, or that failed because it died (each was offered again). */
  readonly handoffsRefused: number;
  /**
   * Connections the primary accepted and closed without any worker taking them (every worker
   * refused it, or more waited than its descriptors allow): failed requests the library knows
   * of (round-robin; `null` for the others, where the kernel holds the queue).
   */
  readonly dropped: number | null;
  /** From a handoff until the worker acknowledged it. */
  readonly handoffLatency: DurationHistogram;
}

/** Rolling reloads (`reload()`, SIGHUP). */
export interface ReloadStats {
  /** Reloads started. */
  readonly total: number;
  /** Reloads that stopped with `RELOAD_FAILED`. */
  readonly failed: number;
  /** A reload is running now. */
  readonly running: boolean;
  /** Duration of the last finished reload. */
  readonly lastDuration: number | null;
  /** Handoffs refused (and offered again) while reloads ran: a sign of a worker that left. */
  readonly handoffsRefused: number;
  /**
   * Connections the primary dropped while reloads ran (round-robin): the reloads' failed
   * requests the library knows of. Resets by the kernel (reuse-port listeners closing at
   * `net.ipv4.tcp_migrate_req=0`) are invisible to it.
   */
  readonly droppedConnections: number;
}

/** The primary process itself. */
export interface PrimaryStats {
  /** Resident memory of the primary (`null` before its first fork). */
  readonly rss: number | null;
  /** CPU time of the primary. */
  readonly cpuSeconds: number | null;
  /**
   * Longest event-loop delay of the primary in the last 60 s of readings (one reader does not
   * reset it for the others).
   */
  readonly eventLoopLag: number | null;
}

/** Sums over the cluster. */
export interface TotalStats {
  /** Live workers. */
  readonly workers: number;
  /** Live workers ready for traffic. */
  readonly ready: number;
  /** Slots the cluster keeps a worker in (its scale). */
  readonly slots: number;
  /** Slots with a ready worker that is not leaving. */
  readonly readySlots: number;
  /** Requests served by every worker so far, those that exited included. */
  readonly requests: number;
  /** Sum of the live workers' last two reports. */
  readonly requestsPerSecond: number;
  /** Sum over the workers that can tell (see {@linkcode WorkerStats.activeConnections}). */
  readonly activeConnections: number;
  /** Live workers' resident memory. */
  readonly rss: number;
  /** CPU time of the live workers. */
  readonly cpuSeconds: number;
  /** Every restart of every slot, by reason (retired slots included). */
  readonly restartsByReason: Readonly<RestartCounts>;
  /** Every restart of every slot. */
  readonly restarts: number;
}

/** What `Cluster.stats()` returns. */
export interface ClusterStats {
  /** When taken, ms since the epoch. */
  readonly time: number;
  /** Seconds since the cluster was created. */
  readonly uptime: number;
  /**
   * What `/readyz` answers: every slot has a ready worker, and the cluster is started and not
   * shutting down.
   */
  readonly ready: boolean;
  /** `shutdown()` was called. */
  readonly shuttingDown: boolean;
  /** The primary process. */
  readonly primary: PrimaryStats;
  /** Live workers, by id. */
  readonly workers: readonly WorkerStats[];
  /** Sums over the cluster. */
  readonly totals: TotalStats;
  /** Listen addresses, by key. */
  readonly listeners: readonly ListenerStats[];
  /** Rolling reloads. */
  readonly reloads: ReloadStats;
}
