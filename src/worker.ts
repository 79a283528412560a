/**
 * The primary's view of one worker: Node's `Worker` (lib/internal/cluster/worker.js), with a
 * promise-returning `send` and `disconnect`.
 *
 * @module
 */

import { Emitter } from "./emitter.ts";
import type { Address } from "./types.ts";

/** Life of a worker: `none` → `online` → `listening` → `disconnected` → `dead`. */
export type WorkerState = "none" | "online" | "listening" | "disconnected" | "dead";

/** Events of one {@linkcode Worker}, in the order they happen. */
export type WorkerEvents = {
  /** The worker process started and its channel is up. */
  online: [];
  /** The worker is ready for traffic (per the cluster's `readiness`). */
  ready: [];
  /**
   * A server in the worker is bound. `requested` is the host its listen call named (`null`:
   * none), which `hostname` does not tell: an explicit `"::"` and no host both bind `"::"`.
   */
  listening: [address: Address & { readonly requested: string | null }];
  /** A message from the worker (and a handle, if one was sent with it). */
  message: [message: unknown, handle: unknown];
  /** The IPC channel closed. */
  disconnect: [];
  /** The process exited: `code` if it exited, `signal` if a signal killed it. */
  exit: [code: number | null, signal: string | null];
  /** Something went wrong with this worker (spawn failure, bad message). */
  error: [error: Error];
};

/** What a {@linkcode Worker} needs from its cluster. Implemented by the primary. */
export interface WorkerLink {
  readonly slot: number;
  readonly isReady: boolean;
  readonly pid: number | undefined;
  readonly process?: unknown;
  readonly state: WorkerState;
  readonly connected: boolean;
  readonly exitedAfterDisconnect: boolean;
  send(message: unknown, handle?: unknown): Promise<void>;
  disconnect(): Promise<void>;
  kill(signal: string): void;
}

/**
 * A worker process, as seen from the primary. Created by `Cluster.fork()` / `Cluster.start()`.
 *
 * @example Talk to a worker
 * ```ts ignore
 * import { Cluster } from "@x/cluster";
 * const cluster = new Cluster({ workers: 1 });
 * await cluster.start();
 * const worker = cluster.workers.get(1)!;
 * worker.on("message", (message) => console.log(`worker ${worker.id} says`, message));
 * await worker.send({ hello: "worker" });
 * ```
 */
export class Worker extends Emitter<WorkerEvents> {
  /** Unique, increasing id (1, 2, …); the worker sees the same id as `Cluster.worker.id`. */
  readonly id: number;
  #link: WorkerLink;

  /** Used by the primary; users get workers from `Cluster`. */
  constructor(id: number, link: WorkerLink) {
    super();
    this.id = id;
    this.#link = link;
  }

  /** The position this worker fills; a restarted or reloaded worker keeps its slot. */
  get slot(): number {
    return this.#link.slot;
  }

  /** True once the worker is ready for traffic (see the cluster's `readiness`). */
  isReady(): boolean {
    return this.#link.isReady;
  }

  /** OS process id (`undefined` until spawned). */
  get pid(): number | undefined {
    return this.#link.pid;
  }

  /**
   * The runtime's child process object (`node:child_process` `ChildProcess` on Node, Deno and
   * Bun), once spawned: read the worker's `stdout`/`stderr` (with `silent: true`) or the
   * pipes of an explicit `stdio` there. `undefined` before the spawn or with an adapter that has
   * none. Send and disconnect through this Worker: the channel is the cluster's.
   *
   * @example Read a silent worker's output
   * ```ts ignore
   * import type { ChildProcess } from "node:child_process";
   * import { Cluster } from "@x/cluster";
   * const cluster = new Cluster({ workers: 1, silent: true });
   * cluster.on("fork", (worker) => {
   *   (worker.process as ChildProcess | undefined)?.stdout?.on("data", (chunk) => console.log(`${chunk}`));
   * });
   * await cluster.start();
   * ```
   */
  get process(): unknown {
    return this.#link.process;
  }

  /** Current lifecycle state. */
  get state(): WorkerState {
    return this.#link.state;
  }

  /**
   * True once the worker went away because we asked (`disconnect()`, `kill()`, shutdown);
   * false if it exited or disconnected on its own.
   */
  get exitedAfterDisconnect(): boolean {
    return this.#link.exitedAfterDisconnect;
  }

  /**
   * Sends a message (structured-clone-able under "advanced" serialization, JSON otherwise),
   * optionally with a socket or server handle. Resolves once written to the channel; rejects
   * with `ClusterError` code `CHANNEL_CLOSED` if the worker is gone (the rejection is marked
   * handled, so an ignored promise never crashes the primary).
   */
  send(message: unknown, handle?: unknown): Promise<void> {
    return handled(this.#link.send(message, handle));
  }

  /**
   * Asks the worker to close its servers and its channel, then waits until it exited.
   * Sets `exitedAfterDisconnect`. Use `kill()` for a worker that does not comply.
   */
  disconnect(): Promise<void> {
    return handled(this.#link.disconnect());
  }

  /** Kills the worker with `signal` (default `SIGTERM`) and sets `exitedAfterDisconnect`. */
  kill(signal = "SIGTERM"): void {
    this.#link.kill(signal);
  }

  /** True once the process has exited. */
  isDead(): boolean {
    return this.#link.state === "dead";
  }

  /** True while the IPC channel is open. */
  isConnected(): boolean {
    return this.#link.connected;
  }
}

/** The promise `handled` marked last: the adapter resolves a batch of sends with one promise. */
let lastHandled: Promise<unknown> | undefined;
const ignore = () => {};

/**
 * Marks a rejection as handled. Sends made in one batch share their promise (the adapter
 * resolves every send it wrote without a callback with one promise, issue #10): it is marked
 * once, not once per message, each mark being a promise and a microtask.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  if (promise === lastHandled) return promise;
  lastHandled = promise;
  promise.catch(ignore);
  return promise;
}
