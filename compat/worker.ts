// Ports lib/internal/cluster/worker.js: node:cluster's Worker, one class for both sides. In the
// primary it wraps our core Worker (_primary_worker.ts); in a worker it stands for this process
// (_child.ts). What differs between the sides is behind `WorkerSide`, where Node's primary.js
// and child.js each add their own disconnect/destroy to the prototype. Deviation: an ES class
// cannot be called without `new`, so the exported `Worker` is the class behind a Proxy that
// constructs on a plain call, as Node's function constructor does.

import { EventEmitter } from "node:events";
import type { Readable, Writable } from "node:stream";

/** What a {@linkcode Worker} delegates to its side (primary or worker process). */
export interface WorkerSide {
  disconnect(worker: WorkerClass): void;
  destroy(worker: WorkerClass, signal: string | undefined): void;
}

/**
 * The process a worker stands for: at least what user code calls on `worker.process`, and its
 * events (`exit`, `disconnect`, `message`, `error`).
 */
export interface WorkerProcessLike extends EventEmitter {
  /** The OS process id. */
  readonly pid: number | undefined;
  /** Whether the IPC channel is open. */
  readonly connected: boolean;
  /** Exit code once exited (`null` or `undefined` before). */
  readonly exitCode?: number | null | string;
  /** The signal that ended the process, if one did. */
  readonly signalCode?: string | null;
  /** `send(message, handle?, options?, callback?)`; false once the channel closed. */
  send(...args: unknown[]): boolean;
  /** Sends a signal; false if the process is gone. */
  kill(signal?: string | number): boolean;
  /** Closes the IPC channel. */
  disconnect?(): void;
  /** The worker's stdin, stdout and stderr pipes (primary: when its stdio makes them pipes). */
  readonly stdin?: Writable | null;
  /** See `stdin`. */
  readonly stdout?: Readable | null;
  /** See `stdin`. */
  readonly stderr?: Readable | null;
  /** Every stdio pipe by descriptor (primary: as `settings.stdio` asked for them). */
  readonly stdio?: ReadonlyArray<Readable | Writable | null | undefined>;
  /** The executable that runs the worker (primary). */
  readonly spawnfile?: string;
  /** The worker's command line (primary). */
  readonly spawnargs?: string[];
}

/** `new cluster.Worker(options)`, as Node's constructor takes them. */
export interface WorkerOptions {
  /** The worker's id. @default 0 */
  id?: number;
  /** The process it stands for; its `message` and `error` events become the worker's. */
  process?: WorkerProcessLike;
  /** The initial state. @default "none" */
  state?: string;
}

const sides = new WeakMap<WorkerClass, WorkerSide>();

/**
 * A worker made by hand (`new cluster.Worker({ process })`) acts on its `process` alone, as
 * Node's prototype methods mostly do: `disconnect()` closes the channel, `destroy()` signals.
 */
const BY_PROCESS: WorkerSide = {
  disconnect(worker) {
    worker.exitedAfterDisconnect = true;
    worker.process?.disconnect?.();
  },
  destroy(worker, signal) {
    worker.exitedAfterDisconnect = true;
    worker.process?.kill(signal ?? "SIGTERM");
  },
};

class WorkerClass extends EventEmitter {
  /** The worker's id: 1, 2, … in fork order; the same number on both sides. */
  readonly id: number;
  /**
   * The primary's facade of the child process (see docs/compat.md); `process` in a worker.
   * `undefined` only on a worker made by hand without one.
   */
  declare readonly process: WorkerProcessLike;
  /** `none` → `online` → `listening` → `disconnected` → `dead` (Node's states). */
  state: string;
  /** True once the worker exits because of `disconnect()`; `undefined` until then, like Node. */
  exitedAfterDisconnect: boolean | undefined = undefined;

  /** Used by the compat layer; get workers from `cluster.fork()` / `cluster.workers`. */
  constructor(options?: WorkerOptions) {
    super();
    const o: WorkerOptions = options !== null && typeof options === "object" ? options : {};
    this.state = o.state || "none";
    this.id = (o.id as number) | 0;
    if (o.process) {
      this.process = o.process;
      // As Node's constructor: the process's messages and errors are the worker's.
      this.process.on("error", (error: unknown) => this.emit("error", error));
      this.process.on("message", (message: unknown, handle: unknown) => {
        this.emit("message", message, handle);
      });
    }
  }

  /**
   * Sends a message (and optionally a `net.Socket` or `net.Server`), as `child.send()` /
   * `process.send()`: returns false and reports an error if the channel is closed.
   */
  send(
    message: unknown,
    handle?: unknown,
    options?: unknown,
    callback?: (error: Error | null) => void,
  ): boolean {
    return this.process.send(message, handle, options, callback);
  }

  /** Primary: asks the worker to close its servers and exit. Worker: closes them and leaves. */
  disconnect(): this {
    (sides.get(this) ?? BY_PROCESS).disconnect(this);
    return this;
  }

  /** Kills the worker with `signal` (default `SIGTERM`). */
  destroy(signal?: string): void {
    (sides.get(this) ?? BY_PROCESS).destroy(this, signal);
  }

  /** Kills the worker with `signal` (default `SIGTERM`); the same as `destroy()`. */
  kill(signal?: string): void {
    this.destroy(signal);
  }

  /** True once the process exited (Node: its `exitCode` or `signalCode` is set). */
  isDead(): boolean {
    return this.process.exitCode != null || this.process.signalCode != null;
  }

  /** True while the IPC channel is open. */
  isConnected(): boolean {
    return this.process.connected;
  }
}

/** Gives a worker the compat layer made its side's `disconnect()` and `destroy()`. */
export function bindSide(worker: WorkerClass, side: WorkerSide): void {
  sides.set(worker, side);
}

/**
 * A worker, as `node:cluster` gives it: `cluster.workers[id]` and the `fork()` result in the
 * primary, `cluster.worker` in a worker. An `EventEmitter` with Node's events: `online`,
 * `listening(address)`, `message(message, handle)`, `disconnect`, `exit(code, signal)`,
 * `error(error)`.
 *
 * @example Talk to a worker from the primary
 * ```ts ignore
 * import cluster from "@x/cluster/compat";
 * const worker = cluster.fork();
 * worker.on("online", () => worker.send({ hello: worker.id }));
 * worker.on("exit", (code, signal) => console.log(worker.exitedAfterDisconnect, code, signal));
 * ```
 */
export type Worker = WorkerClass;

/** `cluster.Worker`: constructed with `new`, or called as a function, as in Node. */
export interface WorkerConstructor {
  /** A worker with `options.id` (default 0), `options.state` (default `"none"`), `process`. */
  new (options?: WorkerOptions): Worker;
  /** The same as `new Worker(options)`. */
  (options?: WorkerOptions): Worker;
  /** The prototype of every worker. */
  readonly prototype: Worker;
}

/**
 * node:cluster's `Worker` class (`cluster.Worker`). Workers come from `cluster.fork()` and
 * `cluster.worker`; one made by hand acts on the `process` it is given.
 *
 * @example A worker for a process of one's own
 * ```ts ignore
 * import cluster from "@x/cluster/compat";
 * import process from "node:process";
 * const worker = new cluster.Worker({ id: 3, state: "online", process });
 * console.log(worker.id, worker.isConnected());
 * ```
 */
export const Worker: WorkerConstructor = new Proxy(WorkerClass, {
  apply: (target, _this, args: [WorkerOptions?]) => new target(...args),
}) as unknown as WorkerConstructor;
