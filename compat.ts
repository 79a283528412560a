// Ports lib/cluster.js, the `node:cluster` module; its parts are in compat/ (see each file).
/**
 * `node:cluster` on Deno, Node and Bun: change `import cluster from "node:cluster"` to
 * `import cluster from "@x/cluster/compat"` (npm: also `require("@x/cluster/compat")`), and the
 * program runs on @x/cluster's core. In a worker, plain `server.listen(port)` on a `node:net` or
 * `node:http` server shares the port with the other workers, and `process.send()` /
 * `process.on("message")` carry the user's messages, as with `node:cluster`.
 *
 * `cluster.schedulingPolicy` `SCHED_RR` is our `"round-robin"`, `SCHED_NONE` our `"shared"`
 * (refused on Deno: servers get an `error` event with code `UNSUPPORTED`). The environment
 * variable `XCLUSTER_SCHED_POLICY` (`rr` | `none`), else `NODE_CLUSTER_SCHED_POLICY`, picks it.
 * `docs/compat.md` lists every difference from `node:cluster`, per runtime.
 *
 * @example A clustered HTTP server, unchanged from node:cluster but for the import
 * ```ts ignore
 * import cluster from "@x/cluster/compat";
 * import http from "node:http";
 * import process from "node:process";
 *
 * if (cluster.isPrimary) {
 *   for (let i = 0; i < 2; i++) cluster.fork();
 *   cluster.on("exit", (worker, code, signal) => console.log(`worker ${worker.process.pid} died`));
 * } else {
 *   http.createServer((_req, res) => res.end(`hello from ${process.pid}\n`)).listen(8000);
 * }
 * ```
 *
 * @module
 */

// Loads the package entry first: it reads this process's role and, in a worker, connects it.
import "./mod.ts";
import { createCluster } from "./compat/_cluster.ts";
import type { CompatCluster } from "./compat/_cluster.ts";
import type { ClusterSettings } from "./compat/_settings.ts";
import { Worker } from "./compat/worker.ts";

export type { CompatCluster } from "./compat/_cluster.ts";
export type { PrimaryMembers } from "./compat/_primary.ts";
export type { NodeAddress } from "./compat/_primary_worker.ts";
export type { ClusterSettings } from "./compat/_settings.ts";
export type { WorkerConstructor, WorkerOptions, WorkerProcessLike } from "./compat/worker.ts";
/** The type of `settings.stdio` (the core's). */
export type { StdioOption, StdioValue } from "./mod.ts";
export { Worker };

/**
 * The `node:cluster` object: an `EventEmitter` with `fork`, `workers`, `settings`, … and the
 * events `fork`, `online`, `listening`, `message`, `disconnect`, `exit`, `setup`.
 *
 * @example Fork and log exits
 * ```ts ignore
 * import cluster from "@x/cluster/compat";
 * if (cluster.isPrimary) {
 *   cluster.fork();
 *   cluster.on("exit", (worker, code, signal) => console.log(worker.id, code, signal));
 * }
 * ```
 */
const cluster: CompatCluster = createCluster();
export default cluster;

/**
 * True in the primary process.
 *
 * @example
 * ```ts ignore
 * import { isPrimary } from "@x/cluster/compat";
 * console.log(isPrimary ? "primary" : "worker");
 * ```
 */
export const isPrimary: boolean = cluster.isPrimary;

/**
 * Deprecated alias of {@linkcode isPrimary}.
 *
 * @example
 * ```ts ignore
 * import { isMaster } from "@x/cluster/compat";
 * console.log(isMaster);
 * ```
 */
export const isMaster: boolean = cluster.isMaster;

/**
 * True in a worker process.
 *
 * @example
 * ```ts ignore
 * import { isWorker, worker } from "@x/cluster/compat";
 * if (isWorker) console.log(`worker ${worker!.id}`);
 * ```
 */
export const isWorker: boolean = cluster.isWorker;

/**
 * `cluster.SCHED_NONE`: every worker accepts on the shared socket (our `"shared"` policy).
 *
 * @example
 * ```ts ignore
 * import cluster from "@x/cluster/compat";
 * cluster.schedulingPolicy = cluster.SCHED_NONE; // before the first fork()
 * ```
 */
export const SCHED_NONE: number = cluster.SCHED_NONE;

/**
 * `cluster.SCHED_RR`: the primary hands connections to the workers (our `"round-robin"`).
 *
 * @example
 * ```ts ignore
 * import cluster from "@x/cluster/compat";
 * cluster.schedulingPolicy = cluster.SCHED_RR;
 * ```
 */
export const SCHED_RR: number = cluster.SCHED_RR;

/**
 * The scheduling policy the first `fork()` / `setupPrimary()` freezes (primary only). Assign it
 * on the default export (`cluster.schedulingPolicy = …`); this binding shows the value at load.
 *
 * @example
 * ```ts ignore
 * import { schedulingPolicy, SCHED_RR } from "@x/cluster/compat";
 * console.log(schedulingPolicy === SCHED_RR);
 * ```
 */
export const schedulingPolicy: number | undefined = cluster.schedulingPolicy;

/**
 * The workers by id (primary only); a worker leaves once it disconnected and exited, or at
 * once when `worker.disconnect()` is called, as in Node.
 *
 * @example
 * ```ts ignore
 * import { fork, workers } from "@x/cluster/compat";
 * fork();
 * for (const id in workers) workers![id].send("hello");
 * ```
 */
export const workers: Record<number, Worker> | undefined = cluster.workers;

/**
 * This worker (worker only; `undefined` in the primary).
 *
 * @example
 * ```ts ignore
 * import { worker } from "@x/cluster/compat";
 * worker?.on("disconnect", () => console.log("bye"));
 * ```
 */
export const worker: Worker | undefined = cluster.worker;

/**
 * The settings of the next `fork()`, as set by {@linkcode setupPrimary} (primary only). This
 * binding is the object at load; read `cluster.settings` for the current one.
 *
 * @example
 * ```ts ignore
 * import cluster from "@x/cluster/compat";
 * cluster.setupPrimary({ args: ["--port", "8000"] });
 * console.log(cluster.settings.args);
 * ```
 */
export const settings: ClusterSettings | undefined = cluster.settings;

/**
 * Sets the settings of the following forks and emits `setup`.
 *
 * @example
 * ```ts ignore
 * import { fork, setupPrimary } from "@x/cluster/compat";
 * setupPrimary({ exec: "worker.js", silent: true });
 * fork();
 * ```
 */
export function setupPrimary(settings?: ClusterSettings): void {
  cluster.setupPrimary(settings);
}

/**
 * Deprecated alias of {@linkcode setupPrimary}.
 *
 * @example
 * ```ts ignore
 * import { setupMaster } from "@x/cluster/compat";
 * setupMaster({ exec: "worker.js" });
 * ```
 */
export function setupMaster(settings?: ClusterSettings): void {
  cluster.setupMaster(settings);
}

/**
 * Forks a worker running `cluster.settings.exec`, with `env` added to its environment.
 *
 * @example
 * ```ts ignore
 * import { fork } from "@x/cluster/compat";
 * const worker = fork({ ROLE: "api" });
 * worker.on("online", () => console.log(`worker ${worker.id} is up`));
 * ```
 */
export function fork(env?: Record<string, unknown>): Worker {
  return cluster.fork(env);
}

/**
 * Disconnects every worker; `callback` runs once all have disconnected.
 *
 * @example
 * ```ts ignore
 * import { disconnect } from "@x/cluster/compat";
 * disconnect(() => console.log("all workers disconnected"));
 * ```
 */
export function disconnect(callback?: () => void): void {
  cluster.disconnect(callback);
}

// CommonJS build: `require("@x/cluster/compat")` returns the cluster object itself, as
// `require("node:cluster")` does (`module` exists only there).
// @ts-ignore: `module` is CommonJS's, undeclared in ES modules
if (typeof module === "object" && module !== null) module.exports = cluster;
