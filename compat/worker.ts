// Ports lib/internal/cluster/worker.js: node:cluster's Worker, one class for both sides. In the
// primary it wraps our core Worker (_primary_worker.ts); in a worker it stands for this process
// (_child.ts). What differs between the sides is behind `WorkerSide`, where Node's primary.js
// and child.js each add their own disconnect/destroy to the prototype.

import { EventEmitter } from "node:events";

/** What a {@linkcode Worker} delegates to its side (primary or worker process). */
export interface WorkerSide {
  disconnect(worker: Worker): void;
  destroy(worker: Worker, signal: string | undefined): void;
  isDead(): boolean;
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
  /** `send(message, handle?, options?, callback?)`; false once the channel closed. */
  send(...args: unknown[]): boolean;
  /** Sends a signal; false if the process is gone. */
  kill(signal?: string | number): boolean;
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
export class Worker extends EventEmitter {
  /** The worker's id: 1, 2, … in fork order; the same number on both sides. */
  readonly id: number;
  /** The primary's facade of the child process (see docs/compat.md); `process` in a worker. */
  readonly process: WorkerProcessLike;
  /** `none` → `online` → `listening` → `disconnected` → `dead` (Node's states). */
  state: string;
  /** True once the worker exits because of `disconnect()`; `undefined` until then, like Node. */
  exitedAfterDisconnect: boolean | undefined = undefined;
  #side: WorkerSide;

  /** Used by the compat layer; get workers from `cluster.fork()` / `cluster.workers`. */
  constructor(id: number, process: WorkerProcessLike, side: WorkerSide, state = "none") {
    super();
    this.id = id;
    this.process = process;
    this.#side = side;
    this.state = state;
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
    this.#side.disconnect(this);
    return this;
  }

  /** Kills the worker with `signal` (default `SIGTERM`). */
  destroy(signal?: string): void {
    this.#side.destroy(this, signal);
  }

  /** Kills the worker with `signal` (default `SIGTERM`); the same as `destroy()`. */
  kill(signal?: string): void {
    this.#side.destroy(this, signal);
  }

  /** True once the process exited. */
  isDead(): boolean {
    return this.#side.isDead();
  }

  /** True while the IPC channel is open. */
  isConnected(): boolean {
    return this.process.connected;
  }
}
