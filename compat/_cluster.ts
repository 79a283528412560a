// Ports lib/cluster.js: the `cluster` object, with the members of this process's role from
// _primary.ts or _child.ts. Deviation: Node's object has only its own role's members; here the
// other role's are present too (so that the ESM named exports are the same in both roles), and
// its functions throw a clear error. Under `@x/cluster/register` on Bun the object is the
// runtime's own `node:cluster` object, emptied and rebuilt (_register_target.ts).

import { EventEmitter } from "node:events";
import { Cluster } from "../mod.ts";
import { BUILTIN_TARGET } from "./_builtin_target.ts";
import { workerSide } from "./_child.ts";
import { policyFromEnv, SCHED_NONE, SCHED_RR } from "./_policy.ts";
import { installPrimary, type PrimaryMembers } from "./_primary.ts";
import type { ClusterSettings } from "./_settings.ts";
import { Worker } from "./worker.ts";

/** `import cluster from "@x/cluster/compat"`: what `node:cluster` gives. */
export interface CompatCluster extends EventEmitter, PrimaryMembers {
  /** True in the primary process. */
  readonly isPrimary: boolean;
  /** Deprecated alias of `isPrimary`. */
  readonly isMaster: boolean;
  /** True in a worker process. */
  readonly isWorker: boolean;
  /** The Worker class. */
  readonly Worker: typeof Worker;
  /** Every worker accepts on the shared listen socket (our `"shared"` policy). */
  readonly SCHED_NONE: number;
  /** The primary hands connections to the workers in turn (our `"round-robin"` policy). */
  readonly SCHED_RR: number;
  /** Deprecated alias of `setupPrimary`. */
  setupMaster(settings?: ClusterSettings): void;
  /** In a worker: this worker. `undefined` in the primary. */
  readonly worker: Worker | undefined;
}

function primaryOnly(name: string): () => never {
  return () => {
    throw new TypeError(
      `cluster.${name}() exists only in the primary process: check cluster.isPrimary first`,
    );
  };
}

/** `emitter` without its own members (the runtime's cluster), initialised as a new emitter. */
function emptied(emitter: EventEmitter): EventEmitter {
  for (const key of Reflect.ownKeys(emitter)) {
    delete (emitter as unknown as Record<PropertyKey, unknown>)[key];
  }
  EventEmitter.call(emitter);
  return emitter;
}

/** Creates this process's `cluster` object. */
export function createCluster(): CompatCluster {
  const target = (globalThis as Record<symbol, unknown>)[BUILTIN_TARGET];
  const cluster =
    (target instanceof EventEmitter ? emptied(target) : new EventEmitter()) as CompatCluster;
  // EventEmitter's own bookkeeping fields stay out of Object.keys(cluster), as in Node's
  // named exports.
  for (const key of Object.keys(cluster)) {
    Object.defineProperty(cluster, key, { enumerable: false });
  }
  const primary = Cluster.isPrimary;
  const members = {
    isWorker: !primary,
    isMaster: primary,
    isPrimary: primary,
    Worker,
    workers: primary ? {} : undefined,
    settings: primary ? {} : undefined,
    SCHED_NONE,
    SCHED_RR,
    schedulingPolicy: primary ? policyFromEnv() : undefined,
    setupPrimary: primaryOnly("setupPrimary"),
    setupMaster: primaryOnly("setupMaster"),
    fork: primaryOnly("fork"),
    disconnect: primaryOnly("disconnect"),
    worker: undefined as Worker | undefined,
  };
  Object.assign(cluster, members);
  if (primary) {
    installPrimary(cluster);
    cluster.setupMaster = cluster.setupPrimary;
  } else {
    Object.assign(cluster, { worker: workerSide() });
  }
  return cluster;
}
