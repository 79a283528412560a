// One worker process as the primary tracks it: its channel, state, handles it joined and the
// promises the cluster waits on. The public `Worker` is its facade (Node keeps all of this on
// the Worker object itself and in primary.js closures).

import { Channel } from "./_channel.ts";
import { ClusterError } from "./errors.ts";
import type { Readiness } from "./options.ts";
import type { Cluster } from "./primary.ts";
import {
  createToken,
  decodeAtPrimary,
  type QueryResult,
  type WorkerToPrimary,
} from "./protocol.ts";
import type { ShareTarget } from "./shared_handle.ts";
import type { Adapter, Address, ProcessHandle } from "./types.ts";
import { Worker, type WorkerLink, type WorkerState } from "./worker.ts";

const STDERR_TAIL = 4096;

/** What an entry calls back into its cluster for. */
export interface EntryHooks {
  emit: Cluster["emit"];
  /** Called last when the process exited (after the `exit` events). */
  exited(entry: Entry, code: number | null, signal: string | null): void;
  onInternal(entry: Entry, message: WorkerToPrimary, handle: unknown): Promise<void>;
  forget(entry: Entry, dead: boolean): Promise<void>;
}

/** One worker's bookkeeping in the primary; the public {@linkcode Worker} is its facade. */
export class Entry implements WorkerLink, ShareTarget {
  readonly id: number;
  /** The position this worker fills (kept across restarts and reloads). */
  readonly slot: number;
  /** When it was forked (monotonic ms). */
  readonly startedAt: number = performance.now();
  /** When its last heartbeat (or `online`) arrived (monotonic ms). */
  lastBeat = 0;
  /** When the watchdog found it unresponsive (monotonic ms). */
  unresponsiveSince: number | undefined;
  /** Requests served, as of the last heartbeat. */
  requests = 0;
  /** Resident memory in bytes, as of the last heartbeat. */
  rss = 0;
  /** Resolves when the worker is ready (per the cluster's `readiness`); rejects if it exits. */
  readonly ready: Promise<void>;
  readonly token: string = createToken();
  readonly worker: Worker;
  readonly channel: Channel;
  readonly keys = new Set<string>();
  #hooks: EntryHooks;
  #process: ProcessHandle | undefined;
  #state: WorkerState = "none";
  #exitedAfterDisconnect = false;
  #wasOnline = false;
  #disconnected = false;
  #stderr = "";
  #exited: Promise<void>;
  #exitedResolve!: () => void;
  #spawned!: { resolve(process: ProcessHandle): void; reject(error: Error): void };
  #readiness: Readiness;
  #isReady = false;
  #readySettle!: { resolve(): void; reject(error: Error): void };

  constructor(id: number, slot: number, readiness: Readiness, hooks: EntryHooks) {
    this.id = id;
    this.slot = slot;
    this.#readiness = readiness;
    this.#hooks = hooks;
    this.ready = new Promise((resolve, reject) => (this.#readySettle = { resolve, reject }));
    this.ready.catch(() => {});
    this.worker = new Worker(id, this);
    // Sends made before the process is spawned wait for it (in order), as Node's fork allows.
    const spawned = new Promise<ProcessHandle>((resolve, reject) => {
      this.#spawned = { resolve, reject };
    });
    spawned.catch(() => {});
    this.channel = new Channel(this.token, (message, handle, keepOpen) => {
      const child = this.#process;
      if (child) return child.send(message, handle, keepOpen);
      return spawned.then((p) => p.send(message, handle, keepOpen));
    });
    this.#exited = new Promise((resolve) => (this.#exitedResolve = resolve));
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }
  get state(): WorkerState {
    return this.#state;
  }
  get connected(): boolean {
    return !this.#disconnected && (this.#process?.connected ?? false);
  }
  get exitedAfterDisconnect(): boolean {
    return this.#exitedAfterDisconnect;
  }
  /** The last lines of the worker's stderr. */
  get stderrTail(): string {
    return this.#stderr;
  }
  get isReady(): boolean {
    return this.#isReady;
  }

  /** Marks the worker ready if `how` is what the cluster's `readiness` waits for. */
  readyBy(how: Readiness): void {
    if (this.#isReady || how !== this.#readiness || this.#state === "dead") return;
    this.#isReady = true;
    this.#readySettle.resolve();
    this.worker.emit("ready");
    this.#hooks.emit("ready", this.worker);
  }

  /** Sends a signal without marking the exit as requested (a failure, e.g. a hung worker). */
  terminate(signal: string): void {
    if (this.#state !== "dead") this.#process?.kill(signal);
  }

  attach(process: ProcessHandle): void {
    this.#process = process;
    this.#spawned.resolve(process);
  }

  events(): Parameters<Adapter["spawn"]>[1] {
    return {
      message: (raw, handle) => this.#onMessage(raw, handle),
      disconnect: () => this.#onDisconnect(),
      exit: (code, signal) => this.#onExit(code, signal),
      error: (error) => this.#emitError(error),
      stderr: (chunk) => {
        this.#stderr = (this.#stderr + chunk).slice(-STDERR_TAIL);
      },
    };
  }

  send(message: unknown, handle?: unknown): Promise<void> {
    return this.channel.sendUser(message, handle);
  }

  disconnect(): Promise<void> {
    this.#exitedAfterDisconnect = true;
    if (this.connected) {
      this.channel.sendInternal({ cmd: "disconnect" }).catch(() => {});
      this.#hooks.forget(this, false);
    }
    return this.#exited;
  }

  kill(signal: string): void {
    this.#exitedAfterDisconnect = true;
    if (this.#state !== "dead") this.#process?.kill(signal);
  }

  /** Disconnects, and kills with SIGKILL after `timeout` ms. Resolves at exit. */
  async stop(timeout: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, timeout);
    });
    await Promise.race([this.disconnect(), deadline]);
    clearTimeout(timer);
    await this.#exited;
  }

  handoff(key: string, connection: unknown): Promise<boolean> {
    return this.channel.request((seq) => ({ cmd: "newconn", seq, key }), connection)
      .then(({ reply }) => (reply as { accepted: boolean }).accepted);
  }

  lend(key: string): Promise<unknown> {
    return this.channel.request((seq) => ({ cmd: "lend", seq, key }))
      .then(({ reply, handle }) => (reply as { accepted: boolean }).accepted ? handle : undefined);
  }

  reply(ack: number, result: QueryResult, handle?: unknown): Promise<void> {
    return this.channel.sendInternal({ cmd: "reply", ack, result }, handle).catch(() => {});
  }

  online_(): void {
    if (this.#state !== "none") return this.bad("duplicate online message");
    this.#state = "online";
    this.#wasOnline = true;
    this.lastBeat = performance.now();
    this.worker.emit("online");
    this.#hooks.emit("online", this.worker);
    this.readyBy("online");
  }

  listening(address: Address): void {
    if (this.#state === "online") this.#state = "listening";
    this.worker.emit("listening", address);
    this.#hooks.emit("listening", this.worker, address);
    this.readyBy("listening");
  }

  bad(reason: string): void {
    this.#emitError(
      new ClusterError("BAD_MESSAGE", `Dropped a message from worker ${this.id}: ${reason}`),
    );
  }

  /** The worker could not even be spawned: report it and finish its life as an exit. */
  failed(error: unknown): void {
    this.#spawned.reject(new ClusterError("CHANNEL_CLOSED", `Worker ${this.id} was never spawned`));
    this.#emitError(error instanceof Error ? error : new Error(String(error)));
    this.#onExit(1, null);
  }

  #onMessage(raw: unknown, handle: unknown): void {
    const decoded = decodeAtPrimary(raw, this.token);
    if (decoded.kind === "user") {
      this.worker.emit("message", decoded.data, handle);
      this.#hooks.emit("message", this.worker, decoded.data, handle);
    } else if (decoded.kind === "invalid") {
      this.bad(decoded.reason);
    } else {
      this.#hooks.onInternal(this, decoded.message, handle).catch((error) =>
        this.#emitError(error)
      );
    }
  }

  #onDisconnect(): void {
    if (this.#disconnected) return;
    this.#disconnected = true;
    this.channel.close(`worker ${this.id} disconnected`);
    this.#hooks.forget(this, this.#state === "dead");
    if (this.#state !== "dead") this.#state = "disconnected";
    this.worker.emit("disconnect");
    this.#hooks.emit("disconnect", this.worker);
  }

  #onExit(code: number | null, signal: string | null): void {
    if (this.#state === "dead") return;
    const wasOnline = this.#wasOnline;
    this.#onDisconnect();
    this.#state = "dead";
    this.#hooks.forget(this, true);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const why = errorLine(this.#stderr) || "see its output above, or run its script directly";
    if (!wasOnline) {
      this.#emitError(
        new ClusterError(
          "WORKER_START_FAILED",
          `Worker ${this.id} ${how} before it came online: ${why}`,
        ),
      );
    } else if (!this.#exitedAfterDisconnect && (code !== 0 || signal !== null)) {
      this.#emitError(
        new ClusterError("WORKER_EXITED", `Worker ${this.id} ${how} unexpectedly: ${why}`),
      );
    }
    if (!this.#isReady) {
      this.#readySettle.reject(
        new ClusterError(
          "WORKER_START_FAILED",
          `Worker ${this.id} ${how} before it was ready: ${why}`,
        ),
      );
    }
    this.worker.emit("exit", code, signal);
    this.#hooks.emit("exit", this.worker, code, signal);
    this.#exitedResolve();
    this.#hooks.exited(this, code, signal);
  }

  /** Reports on the worker (if anyone listens there) and on the cluster, printed at most once. */
  #emitError(error: Error): void {
    if (this.worker.listenerCount("error") > 0) this.worker.emit("error", error);
    this.#hooks.emit("error", error, this.worker);
  }
}

/** The most telling line of a worker's stderr: its last error message, not a stack frame. */
export function errorLine(stderr: string): string {
  const lines = stderr.split("\n").map((line) => line.trim()).filter(Boolean);
  const errors = lines.filter((line) => /error/i.test(line) && !line.startsWith("at "));
  return errors[errors.length - 1] ?? lines.slice(-3).join(" | ");
}
