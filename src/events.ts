/**
 * The events a {@linkcode Cluster} emits, with the worker they concern first (Node's cluster
 * events, plus the supervision ones: `ready`, `crashloop`, `unresponsive`, `recycle`, `warning`).
 *
 * @module
 */

import type { ClusterError } from "./errors.ts";
import type { Worker, WorkerEvents } from "./worker.ts";

/**
 * Events of a {@linkcode Cluster}, with the worker they concern first.
 *
 * @example Log why a slot restarted
 * ```ts ignore
 * import { Cluster } from "@x/cluster";
 * const cluster = new Cluster();
 * cluster.on("exit", (worker, code, signal) => console.log(`slot ${worker.slot}: ${signal ?? code}`));
 * cluster.on("crashloop", (slot, error) => console.error(error.message));
 * ```
 */
export type ClusterEvents = {
  /** A worker was forked (its process may not run yet). */
  fork: [worker: Worker];
  /** A worker is running and connected. */
  online: [worker: Worker];
  /** A worker is ready for traffic (see `readiness`). */
  ready: [worker: Worker];
  /** A server in a worker is bound to `address` (`requested`: the host it named, or `null`). */
  listening: [worker: Worker, address: WorkerEvents["listening"][0]];
  /** A message from a worker (and the handle sent with it, if any). */
  message: [worker: Worker, message: unknown, handle: unknown];
  /** A worker's IPC channel closed. */
  disconnect: [worker: Worker];
  /** A worker exited; `signal` is set if a signal killed it. */
  exit: [worker: Worker, code: number | null, signal: string | null];
  /** Something went wrong; `worker` is set when one worker is concerned. */
  error: [error: Error, worker: Worker | undefined];
  /** A slot failed too often and will not be restarted (`error.code` is `CRASH_LOOP`). */
  crashloop: [slot: number, error: ClusterError];
  /** A worker's event loop missed its heartbeats: it is being killed and replaced. */
  unresponsive: [worker: Worker];
  /** A worker is being replaced after `maxRequests` or `maxMemory`. */
  recycle: [worker: Worker, reason: "requests" | "memory"];
  /**
   * Something works, but not as safely as it could, and the cluster says what to do about it;
   * each kind at most once (`RELOAD_MAY_RESET`). Printed with `console.warn` if nobody listens.
   */
  warning: [warning: ClusterError];
};
