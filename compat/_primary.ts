// Ports lib/internal/cluster/primary.js's cluster members: setupPrimary() and the `setup`
// event, fork(), the `workers` object and disconnect(cb), on top of our core `Cluster`. The
// per-worker wiring is in _primary_worker.ts; queryServer and the handles are the core's.

import type { EventEmitter } from "node:events";
import process from "node:process";
import { Cluster, type Policy } from "../mod.ts";
import { adapterNow } from "../internal.ts";
import { InspectPorts } from "./_inspect.ts";
import { toPolicy } from "./_policy.ts";
import { type ClusterSettings, coreOptions, forkExecArgv, mergeSettings } from "./_settings.ts";
import { wrapWorker } from "./_primary_worker.ts";
import { ENV_COMPAT_ID } from "./_wire.ts";
import type { Worker } from "./worker.ts";

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

/** Fills in the primary's members of `cluster` (an EventEmitter). */
export function installPrimary(cluster: EventEmitter & PrimaryMembers): void {
  const primary = new Primary(cluster);
  cluster.setupPrimary = (settings) => primary.setupPrimary(settings);
  cluster.fork = (env) => primary.fork(env);
  cluster.disconnect = (callback) => primary.disconnect(callback);
}

/** The state primary.js keeps in module scope: ids, settings, the core clusters. */
class Primary {
  #cluster: EventEmitter & PrimaryMembers;
  #policy: Policy | undefined;
  #nextId = 1;
  /** Settings the user ever passed to setupPrimary() (see coreOptions). */
  #explicit = new Set<string>();
  // One core cluster per distinct settings: ours fixes its options at creation, Node lets
  // setupPrimary() change them between forks. Workers of different cores do not share ports.
  #cores = new Map<string, Cluster>();
  /** disconnect(cb) checks, run whenever a worker disconnects or exits. */
  #waiters = new Set<() => void>();
  #inspectPorts = new InspectPorts();
  /** The runtime flags of the worker fork() is spawning (the cores read them at the spawn). */
  #execArgv: readonly string[] = [];

  constructor(cluster: EventEmitter & PrimaryMembers) {
    this.#cluster = cluster;
  }

  setupPrimary(options: ClusterSettings = {}): void {
    const settings = mergeSettings(this.#cluster.settings, options);
    for (const key of Object.keys(options)) this.#explicit.add(key);
    this.#cluster.settings = settings;
    this.#policy ??= toPolicy(this.#cluster.schedulingPolicy); // frozen at the first setup, like Node
    process.nextTick(() => this.#cluster.emit("setup", settings));
  }

  fork(env: Record<string, unknown> = {}): Worker {
    this.setupPrimary();
    // Computed here, so that a bad inspectPort throws from fork() as in Node; the core calls
    // the execArgv function of its options while fork() spawns (the adapter is given).
    const adapter = adapterNow();
    this.#execArgv = forkExecArgv(
      this.#cluster.settings,
      this.#explicit,
      adapter.inheritedExecArgv(),
      this.#inspectPorts,
      adapter.runtime,
    );
    const core = this.#coreFor(this.#cluster.settings);
    const id = this.#nextId++;
    const extra: Record<string, string> = {};
    for (const [name, value] of Object.entries(env ?? {})) {
      if (value !== undefined) extra[name] = String(value);
    }
    // Our core numbers its workers per core cluster; Node's ids are global (see _child.ts).
    extra[ENV_COMPAT_ID] = String(id);
    const worker = wrapWorker(id, core.fork(extra), {
      cluster: this.#cluster,
      remove: (w) => delete this.#cluster.workers[w.id],
      changed: () => {
        for (const check of [...this.#waiters]) check();
      },
    });
    this.#cluster.workers[id] = worker;
    process.nextTick(() => this.#cluster.emit("fork", worker));
    return worker;
  }

  disconnect(callback?: () => void): void {
    const workers = Object.values(this.#cluster.workers);
    for (const worker of workers) if (worker.isConnected()) worker.disconnect();
    if (typeof callback !== "function") return;
    // As documented: once every worker has disconnected. (Node calls back when `workers` gets
    // empty in a later removeWorker(), which is the first exit after worker.disconnect()
    // emptied it, not necessarily the last.)
    const check = () => {
      if (workers.every((w) => w.state === "disconnected" || w.state === "dead")) {
        this.#waiters.delete(check);
        process.nextTick(callback);
      }
    };
    this.#waiters.add(check);
    check();
  }

  #coreFor(settings: ClusterSettings): Cluster {
    const options = coreOptions(settings, this.#explicit, this.#policy!);
    const key = JSON.stringify(options);
    let core = this.#cores.get(key);
    if (!core) {
      // The adapter made at once: fork() spawns before it returns, as Node's does.
      core = new Cluster({
        ...options,
        adapter: adapterNow(),
        execArgv: () => [...this.#execArgv],
      });
      // Exits and bad messages are not errors in node:cluster: they show as "exit" events.
      core.on("error", () => {});
      this.#cores.set(key, core);
    }
    return core;
  }
}
