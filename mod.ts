/**
 * Node's `cluster` module for Deno, Node and Bun: a primary process forks workers, talks to
 * them over IPC and shares listen addresses among them, with a choice of scheduling:
 *
 * - `"round-robin"` (default): the primary accepts and hands connections to the worker with
 *   the fewest outstanding handoffs;
 * - `"shared"`: every worker accepts on one listen socket;
 * - `"reuse-port"`: every worker binds its own SO_REUSEPORT socket and the kernel spreads
 *   connections.
 *
 * @example A clustered HTTP server
 * ```ts ignore
 * import { Cluster } from "@x/cluster";
 *
 * if (Cluster.isPrimary) {
 *   const cluster = new Cluster({ workers: 2 });
 *   cluster.on("exit", (worker, code, signal) => console.log(`worker ${worker.id} exited`));
 *   await cluster.start();
 * } else {
 *   const worker = Cluster.worker;
 *   await worker.serve({ port: 8000 }, () => new Response(`hello from worker ${worker.id}\n`));
 * }
 * ```
 *
 * @module
 */

import { readRole } from "./adapters/_role.ts";
import { loadAdapter } from "./adapters/mod.ts";
import { installRuntime } from "./src/_runtime.ts";
import { currentWorker } from "./src/child.ts";
export type { BoundUdp, UdpOptions } from "./src/_udp.ts";
import type { Adapter } from "./src/types.ts";

let adapter: Promise<Adapter> | undefined;
installRuntime({ role: readRole(), loadAdapter: () => (adapter ??= loadAdapter()) });
// A worker connects to its primary (and says "online") as soon as the package is loaded.
if (readRole().kind === "worker") currentWorker();

export { Cluster } from "./src/primary.ts";
export type { ClusterEvents } from "./src/events.ts";
export type {
  ClusterOptions,
  MetricsOptions,
  Readiness,
  RespawnOptions,
  ShutdownOptions,
  StickyOptions,
} from "./src/options.ts";
export { type BoundServer, ClusterWorker, type ClusterWorkerEvents } from "./src/child.ts";
export type { ServeOptions } from "./src/serve_options.ts";
export { Worker, type WorkerEvents, type WorkerState } from "./src/worker.ts";
export type {
  ClusterStats,
  DurationHistogram,
  ListenerStats,
  PrimaryStats,
  ReloadStats,
  RestartCounts,
  RestartReason,
  TotalStats,
  WorkerStats,
} from "./src/stats.ts";
export type {
  Counter,
  Gauge,
  Labels,
  MetricAggregation,
  MetricOptions,
  MetricSnapshot,
  WorkerMetrics,
} from "./src/_metrics_registry.ts";
export { Emitter, type EventMap } from "./src/emitter.ts";
export { ClusterError, type ClusterErrorCode, type ClusterErrorOptions } from "./src/errors.ts";
export type {
  Candidate,
  RequestHead,
  ScheduleInfo,
  SchedulerFunction,
  SchedulerName,
  SchedulerOption,
} from "./src/scheduler_types.ts";
export type {
  Adapter,
  Address,
  Capabilities,
  FetchHandler,
  HandleReceipt,
  HttpEndpoint,
  Listener,
  ListenOptions,
  ParentChannel,
  ParentEvents,
  Policy,
  ProcessEvents,
  ProcessFigures,
  ProcessHandle,
  ProcessMonitor,
  Serialization,
  ServeEngineOptions,
  ServerEngine,
  ServeSource,
  SpawnOptions,
  StdioOption,
  StdioValue,
  SystemdChannel,
  UdpBindOptions,
  WorkerServer,
} from "./src/types.ts";
