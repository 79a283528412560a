// The primary side of node:cluster (lib/internal/cluster/primary.js) on top of our core:
// settings and the `setup` event, fork(), the `workers` object, disconnect(cb), and Node's
// events re-emitted from the core's. Deviations are commented where they happen.

import type { EventEmitter } from "node:events";
import process from "node:process";
import { Cluster } from "../src/primary.ts";
import type { ClusterOptions } from "../src/options.ts";
import { ClusterError } from "../src/errors.ts";
import type { Address, Policy, StdioOption } from "../src/types.ts";
import type { Worker as CoreWorker } from "../src/worker.ts";
import { isCompatNotice } from "./_notice.ts";
import { toPolicy } from "./_policy.ts";
import { WorkerProcess } from "./_worker_process.ts";
import { Worker } from "./worker.ts";

/** `cluster.settings`, as Node documents them. */
export interface ClusterSettings {
  /** Runtime flags of the workers. @default process.execArgv (Deno: the granted permissions) */
  execArgv?: string[];
  /** File the workers run. @default process.argv[1] */
  exec?: string;
  /** Arguments of the workers' script. @default process.argv.slice(2) */
  args?: string[];
  /** Working directory of the workers. @default the primary's */
  cwd?: string;
  /** `"json"` or `"advanced"` (Node and Bun). @default "json" */
  serialization?: "json" | "advanced";
  /** Do not share the primary's stdout/stderr. @default false */
  silent?: boolean;
  /** Extra environment of every worker (our addition; `fork(env)` adds per worker). */
  env?: Record<string, string>;
  /** The workers' stdio (an array must contain `"ipc"`); overrides `silent`. */
  stdio?: StdioOption;
  /** User id the workers run as. */
  uid?: number;
  /** Group id the workers run as. */
  gid?: number;
  /** Not supported: `fork()` throws `ClusterError` `UNSUPPORTED` if set. */
  inspectPort?: number | (() => number);
  /** Accepted and ignored (it only matters on Windows). */
  windowsHide?: boolean;
}

/** Node's `listening` address: `address` is `null` for "all interfaces". */
export interface NodeAddress {
  /** 4 or 6 (4 for "all interfaces", as Node reports `listen(port)`). */
  addressType: 4 | 6;
  /** The host the server listens on; `null` for all interfaces. */
  address: string | null;
  /** The real port (never 0). */
  port: number;
  /** Always `undefined`: servers listen on ports, never on inherited fds. */
  fd: undefined;
}

/** The members of the `cluster` object the primary side fills in. */
export interface PrimaryMembers {
  /** The settings of the next fork (see `setupPrimary`). */
  settings: ClusterSettings;
  /** `SCHED_RR` or `SCHED_NONE`; frozen by the first `setupPrimary()`/`fork()`. */
  schedulingPolicy: number;
  /** The workers by id. */
  workers: Record<number, Worker>;
  /** Sets the settings of the following forks and emits `setup`. */
  setupPrimary(settings?: ClusterSettings): void;
  /** Forks a worker with `env` added to its environment. */
  fork(env?: Record<string, unknown>): Worker;
  /** Disconnects every worker; `callback` runs once all have disconnected. */
  disconnect(callback?: () => void): void;
}

const UNSUPPORTED_SETTINGS = ["inspectPort"] as const;

/** Environment variable that tells a worker its node:cluster id (see `_child.ts`). */
export const ENV_COMPAT_ID = "XCLUSTER_COMPAT_ID";

// Core options that make our core behave like node:cluster: no respawning, no signal handling
// in the primary (options of the supervision work; ignored by a core without them).
const NODE_LIKE: Record<string, unknown> = { respawn: false, signals: false };

/** Fills in the primary's members of `cluster` (an EventEmitter). */
export function installPrimary(cluster: EventEmitter & PrimaryMembers): void {
  let policy: Policy | undefined;
  let nextId = 1;
  const explicit = new Set<string>();
  // One core cluster per distinct settings: ours fixes its options at creation, Node lets
  // setupPrimary() change them between forks. Workers of different cores do not share ports.
  const cores = new Map<string, Cluster>();

  cluster.setupPrimary = (options: ClusterSettings = {}): void => {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`Invalid settings: expected an object, got ${typeof options}`);
    }
    for (const key of Object.keys(options)) explicit.add(key);
    const settings: ClusterSettings = {
      args: process.argv.slice(2),
      exec: process.argv[1],
      execArgv: process.execArgv,
      silent: false,
      ...cluster.settings,
      ...options,
    };
    cluster.settings = settings;
    policy ??= toPolicy(cluster.schedulingPolicy); // frozen at the first setup, like Node
    process.nextTick(() => cluster.emit("setup", settings));
  };

  const coreFor = (settings: ClusterSettings): Cluster => {
    for (const name of UNSUPPORTED_SETTINGS) {
      if (settings[name] !== undefined) {
        throw new ClusterError(
          "UNSUPPORTED",
          `Cannot fork: cluster.settings.${name} is not supported by @x/cluster/compat; ` +
            "remove it from setupPrimary()",
        );
      }
    }
    const options: ClusterOptions = {
      ...NODE_LIKE,
      workers: 0,
      policy: policy!,
      args: settings.args,
      cwd: settings.cwd,
      silent: settings.silent,
      env: settings.env,
      serialization: settings.serialization,
      stdio: settings.stdio,
      uid: settings.uid,
      gid: settings.gid,
      // Defaults stay the core's: on Deno they carry the primary's permissions.
      exec: explicit.has("exec") ? settings.exec : undefined,
      execArgv: explicit.has("execArgv") ? settings.execArgv : undefined,
    };
    const key = JSON.stringify(options);
    let core = cores.get(key);
    if (!core) {
      core = new Cluster(options);
      // Exits and bad messages are not errors in node:cluster: they show as "exit" events.
      core.on("error", () => {});
      cores.set(key, core);
    }
    return core;
  };

  const remove = (worker: Worker): void => {
    delete cluster.workers[worker.id];
  };

  const waiters = new Set<() => void>();
  const checkWaiters = () => {
    for (const check of [...waiters]) check();
  };

  cluster.fork = (env: Record<string, unknown> = {}): Worker => {
    cluster.setupPrimary();
    const core = coreFor(cluster.settings);
    const id = nextId++;
    const extra: Record<string, string> = {};
    for (const [name, value] of Object.entries(env ?? {})) {
      if (value !== undefined) extra[name] = String(value);
    }
    extra[ENV_COMPAT_ID] = String(id);
    const coreWorker = core.fork(extra);
    const worker = wrap(id, coreWorker);
    cluster.workers[id] = worker;
    process.nextTick(() => cluster.emit("fork", worker));
    return worker;
  };

  const wrap = (id: number, core: CoreWorker): Worker => {
    const proc: WorkerProcess = new WorkerProcess(core, () => worker.disconnect());
    const worker: Worker = new Worker(id, proc, {
      disconnect(w) {
        // Node removes the worker from `workers` at once and sends the request.
        w.exitedAfterDisconnect = true;
        remove(w);
        core.disconnect().catch(() => {});
      },
      destroy(_w, signal) {
        proc.kill(signal ?? "SIGTERM");
      },
      isDead: () => proc.exitCode !== null || proc.signalCode !== null,
    });
    // Node's worker forwards its messages to the cluster from a listener added at fork time.
    worker.on("message", (message, handle) => cluster.emit("message", worker, message, handle));
    core.on("online", () => {
      worker.state = "online";
      worker.emit("online");
      cluster.emit("online", worker);
    });
    core.on("listening", (address) => {
      worker.state = "listening";
      const info = nodeAddress(address);
      worker.emit("listening", info);
      cluster.emit("listening", worker, info);
    });
    core.on("message", (message, handle) => {
      // A worker's disconnect()/destroy() tells us first, as Node's exitedAfterDisconnect act.
      if (isCompatNotice(message)) {
        worker.exitedAfterDisconnect = true;
        return;
      }
      proc.emit("message", message, handle);
      worker.emit("message", message, handle);
    });
    core.on("disconnect", () => {
      if (worker.isDead()) remove(worker);
      worker.exitedAfterDisconnect = !!worker.exitedAfterDisconnect;
      worker.state = "disconnected";
      proc.emit("disconnect");
      worker.emit("disconnect");
      cluster.emit("disconnect", worker);
      checkWaiters();
    });
    core.on("exit", (code, signal) => {
      proc.exitCode = signal === null ? code : null;
      proc.signalCode = signal;
      if (!worker.isConnected()) remove(worker);
      worker.exitedAfterDisconnect = !!worker.exitedAfterDisconnect;
      worker.state = "dead";
      proc.emit("exit", code, signal);
      worker.emit("exit", code, signal);
      cluster.emit("exit", worker, code, signal);
      checkWaiters();
    });
    // As Node's Worker: errors of its process (spawn, send) are the worker's "error" events.
    proc.on("error", (error) => worker.emit("error", error));
    core.on("error", (error) => {
      // Our exit reports (WORKER_EXITED, …) are plain exits in Node; spawn errors are errors.
      if (!(error instanceof ClusterError)) proc.emit("error", error);
    });
    return worker;
  };

  cluster.disconnect = (callback?: () => void): void => {
    const workers = Object.values(cluster.workers);
    for (const worker of workers) if (worker.isConnected()) worker.disconnect();
    if (typeof callback !== "function") return;
    // Documented: the callback runs once every worker has disconnected.
    const check = () => {
      if (workers.every((w) => w.state === "disconnected" || w.state === "dead")) {
        waiters.delete(check);
        process.nextTick(callback);
      }
    };
    waiters.add(check);
    check();
  };
}

/** Our address as Node's `listening` event gives it. */
export function nodeAddress(address: Address): NodeAddress {
  const any = address.hostname === "::" || address.hostname === "0.0.0.0";
  return {
    // Node reports listen(port) as IPv4 with a null address, although it binds "::".
    addressType: any || address.family === "IPv4" ? 4 : 6,
    address: any ? null : address.hostname,
    port: address.port,
    fd: undefined,
  };
}
