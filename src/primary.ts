/**
 * The primary side: Node's lib/internal/cluster/primary.js as a class. It owns the worker
 * registry, forking, and the `queryServer` broker that maps each listen address to one
 * round-robin, shared or reuse-port handle.
 *
 * @module
 */

import { Entry, type EntryHooks, errorLine } from "./_entry.ts";
import { RestartTracker } from "./_restarts.ts";
import {
  checkEnv,
  type ClusterOptions,
  DEFAULTS,
  needsHeartbeats,
  type ResolvedOptions,
  resolveOptions,
  type ShutdownOptions,
} from "./options.ts";
import { Emitter } from "./emitter.ts";
import type { ClusterEvents } from "./events.ts";
import { installSignals } from "./_signals.ts";
import { ENV_HEARTBEAT, ENV_SIGNALS, ENV_TOKEN, ENV_WORKER_ID, runtime } from "./_runtime.ts";
import { type ClusterWorker, currentWorker } from "./child.ts";
import { ClusterError } from "./errors.ts";
import type { WorkerToPrimary } from "./protocol.ts";
import { missingCapability, ServerBroker } from "./_broker.ts";
import type { Adapter } from "./types.ts";
import type { Worker } from "./worker.ts";

/**
 * A cluster of worker processes sharing listen addresses.
 *
 * @example A clustered HTTP server
 * ```ts ignore
 * import { Cluster } from "@x/cluster";
 *
 * if (Cluster.isPrimary) {
 *   const cluster = new Cluster({ workers: 2 });
 *   cluster.on("listening", (worker, address) => console.log(worker.id, address.port));
 *   await cluster.start();
 * } else {
 *   await Cluster.worker.serve({ port: 8000 }, () => new Response(`hi from ${Cluster.worker.id}`));
 * }
 * ```
 */
export class Cluster extends Emitter<ClusterEvents> {
  #options: ResolvedOptions;
  #adapter: Promise<Adapter>;
  #nextId = 1;
  #nextSlot = 0;
  #entries = new Map<number, Entry>();
  #workers = new Map<number, Worker>();
  #slots = new Map<number, Slot>();
  #broker: ServerBroker;
  #shutdown: Promise<void> | undefined;
  #reloading: Promise<void> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #signalsOff: Array<() => void> = [];
  #hooks: EntryHooks = {
    emit: (event, ...args) => this.emit(event, ...args),
    exited: (entry, code, signal) => this.#onExited(entry, code, signal),
    onInternal: (entry, message, handle) => this.#onInternal(entry, message, handle),
    forget: (entry, dead) => this.#forget(entry, dead),
  };

  /** Creates a cluster; nothing starts until `start()` or `fork()`. */
  constructor(options: ClusterOptions = {}) {
    super();
    this.#options = resolveOptions(options);
    const { adapter } = this.#options;
    this.#adapter = adapter ? Promise.resolve(adapter) : runtime().loadAdapter();
    this.#adapter.catch(() => {});
    this.#broker = new ServerBroker(this.#adapter, {
      policy: this.#options.policy ?? "round-robin",
      maxInFlight: this.#options.maxInFlight,
      predecessor: (entry) => this.#predecessor(entry),
    });
  }

  /** True in the primary process (the one that was not forked by a cluster). */
  static get isPrimary(): boolean {
    return runtime().role.kind === "primary";
  }

  /** True in a worker process. */
  static get isWorker(): boolean {
    return runtime().role.kind === "worker";
  }

  /** This worker's side of the cluster; throws in the primary (check `Cluster.isWorker`). */
  static get worker(): ClusterWorker {
    return currentWorker();
  }

  /** Live workers by id (a worker leaves the map once it exited and disconnected). */
  get workers(): ReadonlyMap<number, Worker> {
    return this.#workers;
  }

  /**
   * Forks `workers` workers in parallel (one per slot) and resolves once every slot has a
   * ready worker. With `respawn`, a worker that fails to start is retried; `start()` rejects
   * with `ClusterError` `CRASH_LOOP` if a slot gives up (or `WORKER_START_FAILED` at the first
   * failure without `respawn`), and with `UNSUPPORTED` if the runtime cannot do the policy.
   */
  async start(): Promise<void> {
    const adapter = await this.#adapter;
    const missing = missingCapability(adapter, this.#options.policy ?? "round-robin");
    if (missing) throw new ClusterError("UNSUPPORTED", missing);
    const serialization = this.#options.serialization;
    if (!adapter.capabilities.serialization.includes(serialization)) {
      throw new ClusterError(
        "UNSUPPORTED",
        `Serialization "${serialization}" is not available on ${adapter.runtime} ` +
          `${adapter.version}: use ${adapter.capabilities.serialization.join(" or ")}`,
      );
    }
    this.#startSupervision(adapter);
    const count = this.#options.workers ?? adapter.availableParallelism();
    await Promise.all(Array.from({ length: count }, () => this.#addSlot({}).firstReady));
  }

  /**
   * Forks one more worker (in a new slot, supervised like the others) with extra environment
   * variables. Returns at once; the worker comes online later.
   */
  fork(env: Record<string, string> = {}): Worker {
    if (this.#shutdown) {
      throw new ClusterError("SHUT_DOWN", "Cannot fork: the cluster is shutting down");
    }
    const extra = checkEnv("Cannot fork", "env", env);
    // Supervision (watchdog, signals) covers workers forked without start() too.
    this.#adapter.then((adapter) => this.#startSupervision(adapter), () => {});
    return this.#addSlot(extra).current!.worker;
  }

  /** Sends `message` to every connected worker. */
  async broadcast(message: unknown): Promise<void> {
    const sends = [...this.#entries.values()].filter((s) => s.connected).map((s) =>
      s.send(message)
    );
    await Promise.allSettled(sends);
  }

  /**
   * Replaces every worker without dropping a connection: for each slot in turn
   * (`reloadConcurrency` at once) a new worker starts, and once it is ready the old one stops
   * getting connections and drains. If a replacement does not become ready, the reload stops,
   * the old worker keeps serving, and this rejects with `ClusterError` `RELOAD_FAILED` naming
   * the slot. A reload requested while one runs joins it.
   */
  reload(): Promise<void> {
    if (this.#shutdown) {
      return Promise.reject(
        new ClusterError("SHUT_DOWN", "Cannot reload: the cluster is shutting down"),
      );
    }
    this.#reloading ??= this.#doReload().finally(() => (this.#reloading = undefined));
    return this.#reloading;
  }

  /**
   * Grows or shrinks the cluster to `count` workers. New slots are forked (resolves once they
   * are ready); removed slots (the newest first) drain gracefully (resolves once they exited).
   */
  async scale(count: number): Promise<void> {
    if (!(Number.isInteger(count) && count >= 0)) {
      throw new RangeError(`Cannot scale: 'count' must be an integer >= 0: current value is ${count}`);
    }
    if (this.#shutdown) {
      throw new ClusterError("SHUT_DOWN", "Cannot scale: the cluster is shutting down");
    }
    this.#startSupervision(await this.#adapter);
    const active = [...this.#slots.values()].filter((slot) => !slot.stopped);
    const timeout = this.#options.shutdownTimeout;
    if (count > active.length) {
      const added = Array.from({ length: count - active.length }, () => this.#addSlot({}));
      await Promise.all(added.map((slot) => slot.firstReady));
    } else {
      const removed = active.sort((a, b) => b.index - a.index).slice(0, active.length - count);
      await Promise.all(removed.map((slot) => this.#retire(slot, timeout)));
    }
  }

  /**
   * Stops accepting connections, lets every worker finish its in-flight requests and exit
   * (killing those still alive after `timeout`), and closes the listen sockets. Idempotent:
   * later calls return the same promise.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    const timeout = options?.timeout ?? this.#options.shutdownTimeout;
    if (!(Number.isFinite(timeout) && timeout >= 0)) {
      return Promise.reject(
        new RangeError(
          `Cannot shut down: 'timeout' must be a finite number >= 0: current value is ${timeout}`,
        ),
      );
    }
    this.#shutdown ??= this.#doShutdown(timeout);
    return this.#shutdown;
  }

  async #doShutdown(timeout: number): Promise<void> {
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    for (const slot of this.#slots.values()) {
      slot.stopped = true;
      if (slot.timer !== undefined) clearTimeout(slot.timer);
      if (!slot.current?.isReady) {
        slot.settle.reject(new ClusterError("SHUT_DOWN", `Slot ${slot.index} was shut down`));
      }
    }
    // Stop accepting first (the primary's listen sockets), then let the workers drain.
    await this.#broker.closeAll();
    await Promise.all([...this.#entries.values()].map((entry) => entry.stop(timeout)));
    for (const off of this.#signalsOff.splice(0)) off();
  }

  // ---- supervision ----------------------------------------------------------------------

  #started = false;

  #startSupervision(adapter: Adapter): void {
    if (this.#started) return;
    this.#started = true;
    const slots = () => [...this.#slots.values()].filter((slot) => !slot.stopped);
    const o = this.#options;
    const timeout = o.heartbeatTimeout;
    if (needsHeartbeats(o)) {
      const every = Math.max(50, Math.min(timeout > 0 ? timeout / 4 : 1000, 1000));
      this.#watchdog = setInterval(() => this.#watch(), every);
      adapter.unrefTimer(this.#watchdog);
    }
    if (o.signals) {
      this.#signalsOff.push(installSignals(adapter, {
        shutdown: () => this.shutdown(),
        reload: () => this.reload(),
        scale: (count) => this.scale(count),
        get activeSlots() {
          return slots().length;
        },
        killAll: () => {
          for (const entry of this.#entries.values()) entry.kill("SIGKILL");
        },
        error: (error) => this.emit("error", error as Error, undefined),
      }));
    }
  }

  /** Creates a slot and forks its first worker. */
  #addSlot(env: Record<string, string>): Slot {
    let settle!: Slot["settle"];
    const firstReady = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    firstReady.catch(() => {});
    const { maxRequests, respawn } = this.#options;
    const slot: Slot = {
      index: this.#nextSlot++,
      env,
      current: undefined,
      tracker: new RestartTracker(respawn || DEFAULTS.respawn),
      timer: undefined,
      stopped: false,
      replacing: false,
      recycleAt: maxRequests > 0 ? maxRequests * (1 + Math.random() * 0.1) : Infinity,
      firstReady,
      settle,
    };
    this.#slots.set(slot.index, slot);
    slot.current = this.#forkInto(slot);
    return slot;
  }

  /** Forks a worker for `slot` (it becomes `slot.current` only if the caller says so). */
  #forkInto(slot: Slot): Entry {
    const entry = new Entry(
      this.#nextId++,
      slot.index,
      this.#options.readiness,
      this.#hooks,
    );
    this.#entries.set(entry.id, entry);
    this.#workers.set(entry.id, entry.worker);
    this.emit("fork", entry.worker);
    this.#adapter.then(
      (adapter) => this.#spawn(adapter, entry, slot.env),
      (error) => entry.failed(error),
    );
    const readyTimeout = this.#options.readyTimeout;
    const timer = setTimeout(() => {
      if (!entry.isReady) {
        this.emit(
          "error",
          new ClusterError(
            "WORKER_START_FAILED",
            `Worker ${entry.id} (slot ${slot.index}) was not ready within ${readyTimeout} ms: killing it`,
          ),
          entry.worker,
        );
        entry.terminate("SIGKILL");
      }
    }, readyTimeout);
    this.#adapter.then((adapter) => adapter.unrefTimer(timer), () => {});
    entry.ready.then(() => {
      clearTimeout(timer);
      if (slot.current === entry) slot.settle.resolve();
    }, () => clearTimeout(timer));
    return entry;
  }

  /** The worker `entry` is replacing, while its slot is being reloaded or recycled. */
  #predecessor(entry: Entry): Entry | undefined {
    const slot = this.#slots.get(entry.slot);
    return slot?.replacing && slot.current !== entry ? slot.current : undefined;
  }

  /** A worker exited: restart its slot if it was not asked to stop. */
  #onExited(entry: Entry, code: number | null, signal: string | null): void {
    const slot = this.#slots.get(entry.slot);
    if (!slot || slot.current !== entry) return; // a replaced or retired worker
    slot.current = undefined;
    if (this.#shutdown || slot.stopped || slot.replacing || entry.exitedAfterDisconnect) return;
    if (this.#options.respawn === false) {
      slot.stopped = true;
      // A worker that never got ready fails its slot (and start()) with its own reason.
      entry.ready.catch((error) => slot.settle.reject(error));
      return;
    }
    const now = performance.now();
    const delay = slot.tracker.record({ at: now, code, signal }, now - entry.startedAt);
    if (delay === undefined) {
      slot.stopped = true;
      const ends = slot.tracker.failures.map((f) => f.signal ?? String(f.code)).join(", ");
      const tail = entry.stderrTail.trim().split("\n").slice(-5).join("\n");
      const last = errorLine(entry.stderrTail);
      const error = new ClusterError(
        "CRASH_LOOP",
        `Slot ${slot.index} stopped restarting: its workers ended ${slot.tracker.failures.length} times ` +
          `in a row (${ends}); last error: ${last || "(none)"}; ` +
          `last stderr lines:\n${tail || "(none)"}\nFix the worker and call scale() or reload()`,
      );
      this.emit("crashloop", slot.index, error);
      this.emit("error", error, entry.worker);
      slot.settle.reject(error);
      return;
    }
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (!this.#shutdown && !slot.stopped && !slot.current) slot.current = this.#forkInto(slot);
    }, delay);
  }

  async #doReload(): Promise<void> {
    const slots = [...this.#slots.values()].filter((slot) => !slot.stopped && slot.current);
    const concurrency = this.#options.reloadConcurrency;
    let next = 0;
    const lane = async () => {
      while (next < slots.length) await this.#replace(slots[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, slots.length) }, lane));
  }

  /** Starts a new worker in `slot`, waits until it is ready, then drains the old one. */
  async #replace(slot: Slot): Promise<void> {
    if (slot.replacing || slot.stopped) return;
    slot.replacing = true;
    const old = slot.current;
    const fresh = this.#forkInto(slot);
    try {
      await fresh.ready;
    } catch (error) {
      fresh.kill("SIGKILL");
      throw new ClusterError(
        "RELOAD_FAILED",
        `Reload stopped at slot ${slot.index}: its new worker ${fresh.id} did not become ready ` +
          `(${(error as Error).message}); worker ${old?.id} keeps serving`,
        { cause: error },
      );
    } finally {
      slot.replacing = false;
    }
    slot.current = fresh;
    slot.settle.resolve();
    slot.recycleAt = this.#options.maxRequests
      ? this.#options.maxRequests * (1 + Math.random() * 0.1)
      : Infinity;
    if (old && old.state !== "dead") await old.stop(this.#options.shutdownTimeout);
  }

  async #retire(slot: Slot, timeout: number): Promise<void> {
    slot.stopped = true;
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    this.#slots.delete(slot.index);
    if (slot.current) await slot.current.stop(timeout);
  }

  /** Watchdog and recycling, on heartbeats. */
  #watch(): void {
    const o = this.#options;
    const now = performance.now();
    const timeout = o.heartbeatTimeout;
    for (const slot of this.#slots.values()) {
      const entry = slot.current;
      if (!entry || entry.state === "none" || entry.state === "dead" || slot.replacing) continue;
      if (timeout > 0 && now - entry.lastBeat > timeout && !entry.exitedAfterDisconnect) {
        if (entry.unresponsiveSince === undefined) {
          entry.unresponsiveSince = now;
          this.emit("unresponsive", entry.worker);
          entry.terminate("SIGTERM");
        } else if (now - entry.unresponsiveSince > o.killTimeout) {
          entry.terminate("SIGKILL");
        }
        continue;
      }
      if (!entry.isReady) continue;
      if (entry.requests >= slot.recycleAt) this.#recycle(slot, entry, "requests");
      else if (o.maxMemory > 0 && entry.rss > o.maxMemory) {
        this.#recycle(slot, entry, "memory");
      }
    }
  }

  #recycle(slot: Slot, entry: Entry, reason: "requests" | "memory"): void {
    this.emit("recycle", entry.worker, reason);
    this.#replace(slot).catch((error) => this.emit("error", error, entry.worker));
  }

  #entry(worker: Worker): Entry {
    return this.#entries.get(worker.id)!;
  }

  #spawn(adapter: Adapter, entry: Entry, extraEnv: Record<string, string>): void {
    const o = this.#options;
    const exec = o.exec ?? adapter.mainModule();
    if (!exec) {
      entry.failed(new TypeError("Cannot fork: no main module to run; set the `exec` option"));
      return;
    }
    const env: Record<string, string> = {
      ...adapter.envObject(),
      ...o.env,
      ...extraEnv,
      [ENV_WORKER_ID]: String(entry.id),
      [ENV_TOKEN]: entry.token,
    };
    if (this.#watchdog !== undefined) env[ENV_HEARTBEAT] = String(o.heartbeatInterval);
    if (!o.signals) env[ENV_SIGNALS] = "0";
    entry.attach(adapter.spawn({
      exec,
      args: o.args,
      execArgv: o.execArgv ?? adapter.inheritedExecArgv(),
      env,
      cwd: o.cwd,
      silent: o.silent,
      serialization: o.serialization,
      stdio: o.stdio,
      uid: o.uid,
      gid: o.gid,
    }, entry.events()));
  }

  /** Routes one decoded internal message from a worker. */
  async #onInternal(entry: Entry, message: WorkerToPrimary, handle: unknown): Promise<void> {
    switch (message.cmd) {
      case "online":
        return entry.online_();
      case "ready":
        return entry.readyBy("manual");
      case "heartbeat":
        entry.lastBeat = performance.now();
        entry.requests = message.requests;
        entry.rss = message.rss;
        return;
      case "query":
        return await this.#broker.query(entry, message);
      case "listening":
        // Synchronous, so that "listening" is emitted before messages the worker sent after it.
        if (this.#broker.listening(entry, message.key, message.address)) {
          entry.listening(message.address);
        } else if (!entry.exitedAfterDisconnect) {
          // (A worker being disconnected may report a bind that raced with it: not an error.)
          entry.bad(`listening on ${message.key}, which it never asked for`);
        }
        return;
      case "close":
        return this.#broker.leave(entry, message.key);
      case "reply":
        if (!entry.channel.settle(message.ack, message, handle)) {
          entry.bad(`reply to unknown request ${message.ack}`);
        }
    }
  }

  /** A worker left for good: drop it from every handle and, once dead, from the registry. */
  async #forget(entry: Entry, dead: boolean): Promise<void> {
    for (const key of [...entry.keys]) await this.#broker.leave(entry, key);
    if (dead) {
      this.#workers.delete(entry.id);
      this.#entries.delete(entry.id);
    }
  }
}

/** A position in the cluster, kept across restarts and reloads of its worker. */
interface Slot {
  index: number;
  env: Record<string, string>;
  current: Entry | undefined;
  tracker: RestartTracker;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Crash-looped, retired or shut down: never restarted. */
  stopped: boolean;
  replacing: boolean;
  recycleAt: number;
  firstReady: Promise<void>;
  settle: { resolve(): void; reject(error: Error): void };
}
