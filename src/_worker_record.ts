// One worker process as the primary tracks it: its channel, lifecycle state and readiness, and
// the messages only it needs (`online`, `ready`, `heartbeat`, `reply`). The public `Worker` is
// its facade. (Node keeps this on the Worker object itself and in primary.js closures.)

import { Channel } from "./_channel.ts";
import { errorLine } from "./_error_line.ts";
import type { Emitter } from "./emitter.ts";
import { ClusterError } from "./errors.ts";
import type { ClusterEvents } from "./events.ts";
import type { Readiness } from "./options.ts";
import {
  createToken,
  decodeAtPrimary,
  type QueryResult,
  type ServerMessage,
  type WorkerToPrimary,
} from "./protocol.ts";
import type { StatsMessage } from "./_stats_message.ts";
import type { Address, ProcessEvents, ProcessHandle } from "./types.ts";
import { toBase64 } from "./_sticky_bytes.ts";
import { Worker, type WorkerLink, type WorkerState } from "./worker.ts";

const STDERR_TAIL = 4096;

/** What a worker's heartbeat reports (read by the supervisor's watchdog and recycling). */
export interface HeartbeatStats {
  /** Requests served so far. */
  requests: number;
  /** Resident memory in bytes. */
  rss: number;
}

/** What a record calls back into its cluster for. */
export interface WorkerRecordHooks {
  emit: Emitter<ClusterEvents>["emit"];
  /** A message about servers (`query`, `listening`, `close`): the cluster routes it. */
  dispatch(record: WorkerRecord, message: ServerMessage, handle: unknown): void | Promise<void>;
  /** The worker came online (`stats` null) or sent a heartbeat. */
  heartbeat(record: WorkerRecord, stats: HeartbeatStats | null): void;
  /** The worker sent its periodic `stats` message; returns why metrics of it were refused. */
  stats(record: WorkerRecord, message: StatsMessage): string | undefined | void;
  /** A round-robin handoff on `key` was answered (or failed) after `seconds`. */
  handedOff(record: WorkerRecord, key: string, seconds: number, accepted: boolean): void;
  /** The worker leaves: drop it from every handle and, once `dead`, from the registry. */
  forget(record: WorkerRecord, dead: boolean): void;
  /** Called last when the process exited (after the `exit` events). */
  exited(record: WorkerRecord, code: number | null, signal: string | null): void;
}

/**
 * One worker's bookkeeping in the primary; the public {@linkcode Worker} is its facade.
 *
 * @example
 * ```ts ignore
 * const record = new WorkerRecord(1, 0, "listening", hooks);
 * record.attach(adapter.spawn(options, record.processEvents()));
 * await record.ready;
 * ```
 */
export class WorkerRecord implements WorkerLink {
  readonly id: number;
  /** The position this worker fills (kept across restarts and reloads). */
  readonly slot: number;
  /** Resolves when the worker is ready (per the cluster's `readiness`); rejects if it exits. */
  readonly ready: Promise<void>;
  readonly token: string = createToken();
  readonly worker: Worker;
  #channel: Channel;
  #hooks: WorkerRecordHooks;
  #process: ProcessHandle | undefined;
  /** Its runtime acknowledges handles (`handoffReceipts`): handoffs are settled by that. */
  #receipts = false;
  #state: WorkerState = "none";
  #exitedAfterDisconnect = false;
  #wasOnline = false;
  #disconnected = false;
  #lossOnClose: string | undefined;
  #stderr = "";
  #exited: Promise<void>;
  #exitedResolve!: () => void;
  #metricsRefused = false;
  #spawned!: { resolve(process: ProcessHandle): void; reject(error: Error): void };
  #readiness: Readiness;
  #isReady = false;
  #readySettle!: { resolve(): void; reject(error: Error): void };
  /** Open connections per round-robin key, as the worker last reported them. */
  #active = new Map<string, number>();
  /**
   * The round-robin keys the primary handed this worker connections on: the only ones its open
   * connections can be of, so the only ones its `load` reports are kept for.
   */
  #handedKeys = new Set<string>();
  #handoffs = 0;
  /** The hosts its unanswered queries named (by `seq`), then those of its keys (`null`: none). */
  #asked = new Map<number, string | null>();
  #requested = new Map<string, string | null>();

  constructor(id: number, slot: number, readiness: Readiness, hooks: WorkerRecordHooks) {
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
    this.#channel = new Channel(this.token, (message, handle, keepOpen, receipt) => {
      const child = this.#process;
      if (child) return child.send(message, handle, keepOpen, receipt);
      return spawned.then((p) => p.send(message, handle, keepOpen, receipt));
    });
    this.#exited = new Promise((resolve) => (this.#exitedResolve = resolve));
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }
  get process(): unknown {
    return this.#process?.process;
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
  /** The last lines of the worker's stderr (when it is piped: `silent`). */
  get stderrTail(): string {
    return this.#stderr;
  }
  get isReady(): boolean {
    return this.#isReady;
  }
  /** What stopping one of its servers may lose, and why (`WorkerServer.lossOnClose`). */
  get lossOnClose(): string | undefined {
    return this.#lossOnClose;
  }

  /**
   * Gives the record its spawned process. With `receipts` (the adapter's `handoffReceipts`) a
   * handoff without head bytes is settled by the runtime's acknowledgement of its handle.
   */
  attach(process: ProcessHandle, receipts = false): void {
    this.#process = process;
    this.#receipts = receipts;
    this.#spawned.resolve(process);
  }

  /** The callbacks to spawn the process with. */
  processEvents(): ProcessEvents {
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

  /** Sends a signal without marking the exit as requested (a failure, e.g. a hung worker). */
  terminate(signal: string): void {
    if (this.#state !== "dead") this.#process?.kill(signal);
  }

  send(message: unknown, handle?: unknown): Promise<void> {
    return this.#channel.sendUser(message, handle);
  }

  disconnect(): Promise<void> {
    this.#exitedAfterDisconnect = true;
    if (this.connected) {
      this.#channel.sendInternal({ cmd: "disconnect" }).catch(() => {});
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

  /** Hands a connection over (round-robin); resolves with whether the worker took it. */
  handoff(key: string, connection: unknown, head?: Uint8Array): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pass(
        key,
        connection,
        head,
        (accepted, error) => error ? reject(error) : resolve(accepted),
      );
    });
  }

  /**
   * {@linkcode handoff} without a promise: `done` gets whether the worker took the connection
   * (false with the error if it was lost or the channel closed). Round-robin's per-connection
   * path: its promise chain was four promises per connection (issue #10).
   */
  pass(
    key: string,
    connection: unknown,
    head: Uint8Array | undefined,
    done: (accepted: boolean, error?: Error) => void,
    tried?: ReadonlySet<number>,
  ): void {
    this.#handoffs++;
    this.#handedKeys.add(key);
    const sentAt = performance.now();
    const bytes = head === undefined || head.length === 0 ? undefined : toBase64(head);
    const receipt = this.#receipts && bytes === undefined;
    this.#channel.handoff(
      key,
      bytes,
      connection,
      (error, reply) => {
        this.#handoffs--;
        let accepted = false;
        if (error === undefined) {
          const answer = reply as { accepted: boolean; active?: number };
          accepted = answer.accepted;
          if (answer.active !== undefined) this.#active.set(key, answer.active);
          // A receipt carries no count: one more until the next `load` report says otherwise.
          else if (receipt) this.#active.set(key, (this.#active.get(key) ?? 0) + 1);
        }
        this.#hooks.handedOff(this, key, (performance.now() - sentAt) / 1000, accepted);
        done(accepted, error);
      },
      receipt,
      tried && [...tried],
    );
  }

  /**
   * Connections the worker holds open: of one round-robin `key`, or of all of them, as it
   * last reported (at most `LOAD_INTERVAL` ms old, exact at each handoff's acknowledgement).
   */
  activeConnections(key?: string): number {
    if (key !== undefined) return this.#active.get(key) ?? 0;
    let total = 0;
    for (const n of this.#active.values()) total += n;
    return total;
  }

  /** Connections the primary handed this worker that it has not acknowledged yet. */
  get handoffs(): number {
    return this.#handoffs;
  }

  /** Asks for the worker's listen socket of `key`; `undefined` if it has none to give. */
  lend(key: string): Promise<unknown> {
    return this.#channel.request((seq) => ({ cmd: "lend", seq, key }))
      .then(({ reply, handle }) => (reply as { accepted: boolean }).accepted ? handle : undefined);
  }

  /** Answers the worker's `query` `ack`. Never rejects (a gone worker needs no answer). */
  reply(ack: number, result: QueryResult, handle?: unknown): Promise<void> {
    const asked = this.#asked.get(ack);
    this.#asked.delete(ack);
    if (result.ok && asked !== undefined) this.#requested.set(result.key, asked);
    return this.#channel.sendInternal({ cmd: "reply", ack, result }, handle).catch(() => {});
  }

  /** The worker asks for an address (its query `seq`): its `listening` reports `hostname`. */
  queried(seq: number, hostname: string | null): void {
    this.#asked.set(seq, hostname);
  }

  /** A server of the worker is bound at `key` (the broker accepted its `listening`). */
  listening(address: Address, lossOnClose: string | undefined, key: string): void {
    this.#lossOnClose ??= lossOnClose;
    if (this.#state === "online") this.#state = "listening";
    // Node's primary reports the host the worker asked for (lib/internal/cluster/child.js
    // sends its query's `address`), which the bound address cannot tell for "::".
    const listening = { ...address, requested: this.#requested.get(key) ?? null };
    this.worker.emit("listening", listening);
    this.#hooks.emit("listening", this.worker, listening);
    this.#markReady("listening");
  }

  /** Reports a dropped message from this worker as `BAD_MESSAGE`. */
  reportBadMessage(reason: string): void {
    this.#emitError(
      new ClusterError("BAD_MESSAGE", `Dropped a message from worker ${this.id}: ${reason}`),
    );
  }

  /** The worker could not even be spawned: report it and finish its life as an exit. */
  spawnFailed(error: unknown): void {
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
      this.reportBadMessage(decoded.reason);
    } else {
      this.#onInternal(decoded.message, handle);
    }
  }

  #onInternal(message: WorkerToPrimary, handle: unknown): void {
    switch (message.cmd) {
      case "online":
        return this.#online();
      case "ready":
        return this.#markReady("manual");
      case "heartbeat":
        return this.#hooks.heartbeat(this, { requests: message.requests, rss: message.rss });
      case "stats": {
        const refused = this.#hooks.stats(this, message) ?? message.refused;
        if (refused !== undefined && !this.#metricsRefused) {
          this.#metricsRefused = true; // once per worker: it sends the same every statsInterval
          this.#emitError(
            new ClusterError(
              "METRICS_REFUSED",
              `Refused metrics of worker ${this.id} (said once per worker): ${refused}; ` +
                "create metrics with Cluster.worker.metrics, which checks them",
            ),
          );
        }
        return;
      }
      case "reply":
        if (!this.#channel.settle(message.ack, message, handle)) {
          this.reportBadMessage(`reply to unknown request ${message.ack}`);
        }
        return;
      case "load":
        // Only for keys it got connections on (the primary's own addresses): a broken or
        // hostile worker naming fresh keys must not grow this map. Dropped silently: a count
        // for any other key can only be 0, and is then what activeConnections() says anyway.
        if (message.active === 0 || !this.#handedKeys.has(message.key)) {
          this.#active.delete(message.key);
        } else {
          this.#active.set(message.key, message.active);
        }
        return;
      default:
        try {
          const routed = this.#hooks.dispatch(this, message, handle);
          routed?.catch((error) => this.#emitError(error));
        } catch (error) {
          this.#emitError(error as Error);
        }
    }
  }

  #online(): void {
    if (this.#state !== "none") return this.reportBadMessage("duplicate online message");
    this.#state = "online";
    this.#wasOnline = true;
    this.#hooks.heartbeat(this, null);
    this.worker.emit("online");
    this.#hooks.emit("online", this.worker);
    this.#markReady("online");
  }

  /** Marks the worker ready if `how` is what the cluster's `readiness` waits for. */
  #markReady(how: Readiness): void {
    if (this.#isReady || how !== this.#readiness || this.#state === "dead") return;
    this.#isReady = true;
    this.#readySettle.resolve();
    this.worker.emit("ready");
    this.#hooks.emit("ready", this.worker);
  }

  #onDisconnect(): void {
    if (this.#disconnected) return;
    this.#disconnected = true;
    this.#channel.close(`worker ${this.id} disconnected`);
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
