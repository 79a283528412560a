// Supervision of the primary (PM2's and gunicorn's arbiter, which Node's cluster lacks): slots,
// and every reason a slot gets a new worker. This file answers "why did slot 2 restart?":
// - its worker exited without being asked (crash, kill, or the watchdog's SIGTERM/SIGKILL):
//   `exited()` restarts it after RestartTracker's backoff, or stops it as a crash loop;
// - `reload()` replaced it (`#replace`: the new worker first, the old one drains once it is
//   ready), or recycling did (`#watch` → `#recycle` after `maxRequests` or `maxMemory`);
// - a worker not ready within `readyTimeout` is killed (`#fork`), and then it exited.
// Scale-down (`#retire`) and shutdown (`stop()`) end slots for good. Everything it needs comes
// through `SupervisorHost` (fork, clock, timers, emit), so tests drive it with a fake clock.

import { errorLine } from "./_error_line.ts";
import { RestartTracker } from "./_restarts.ts";
import type { Emitter } from "./emitter.ts";
import { ClusterError } from "./errors.ts";
import type { ClusterEvents } from "./events.ts";
import type { ResolvedOptions } from "./options.ts";
import type { Worker, WorkerState } from "./worker.ts";

/** What the supervisor needs of one worker process (a `WorkerRecord` in the cluster). */
export interface SupervisedWorker {
  readonly id: number;
  readonly slot: number;
  /** The public facade, for events. */
  readonly worker: Worker;
  /** Resolves when the worker is ready; rejects if it exits first. */
  readonly ready: Promise<void>;
  readonly isReady: boolean;
  readonly state: WorkerState;
  readonly exitedAfterDisconnect: boolean;
  readonly stderrTail: string;
  /** What stopping it may lose, and why (a listener it cannot lend); `undefined` if nothing. */
  readonly lossOnClose: string | undefined;
  /** Sends a signal as a failure (the exit still counts for respawn). */
  terminate(signal: string): void;
  /** Sends a signal as a request (`exitedAfterDisconnect`). */
  kill(signal: string): void;
  /** Disconnects, kills after `timeout` ms; resolves at exit. */
  stop(timeout: number): Promise<void>;
}

/** What the supervisor is given: forking, a monotonic clock, timers and the cluster's events. */
export interface SupervisorHost<W extends SupervisedWorker> {
  /** Forks a worker into `slot` with the slot's extra environment (and emits `fork`). */
  fork(slot: number, env: Readonly<Record<string, string>>): W;
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  /** Lets the process exit while `timer` is pending. */
  unref(timer: unknown): void;
  /** A number in [0, 1): the spread of recycling points. */
  random(): number;
  emit: Emitter<ClusterEvents>["emit"];
}

/** The options supervision reads. */
export type SupervisionOptions = Pick<
  ResolvedOptions,
  | "respawn"
  | "readyTimeout"
  | "heartbeatTimeout"
  | "killTimeout"
  | "maxRequests"
  | "maxMemory"
  | "reloadConcurrency"
  | "shutdownTimeout"
>;

/** A position in the cluster, kept across restarts and reloads of its worker. */
interface Slot<W> {
  readonly index: number;
  readonly env: Readonly<Record<string, string>>;
  current: W | undefined;
  /** `undefined` without respawn. */
  readonly restarts: RestartTracker | undefined;
  restartTimer: unknown;
  /** Crash-looped, retired or shut down: never restarted. */
  stopped: boolean;
  replacing: boolean;
  /** Requests after which its worker is recycled (Infinity: never). */
  recycleAt: number;
  readonly firstReady: Promise<void>;
  readonly settle: { resolve(): void; reject(error: Error): void };
}

/** What the watchdog and recycling know of a worker, from its heartbeats. */
interface Watch {
  readonly startedAt: number;
  lastBeat: number;
  unresponsiveSince: number | undefined;
  requests: number;
  rss: number;
}

/**
 * Owns the slots and replaces their workers: respawn, readiness timeout, reload lanes,
 * retirement, watchdog and recycling.
 *
 * @example
 * ```ts ignore
 * const supervisor = new Supervisor(resolveOptions({ respawn: true }), host);
 * const { worker, ready } = supervisor.addSlot({});
 * await ready;
 * await supervisor.reload();
 * ```
 */
export class Supervisor<W extends SupervisedWorker> {
  #options: SupervisionOptions;
  #host: SupervisorHost<W>;
  #slots = new Map<number, Slot<W>>();
  #watches = new Map<W, Watch>();
  #nextSlot = 0;
  #watchdog: unknown;
  #reloading: Promise<void> | undefined;
  #stopped = false;
  #warned = false;

  constructor(options: SupervisionOptions, host: SupervisorHost<W>) {
    this.#options = options;
    this.#host = host;
  }

  /** Slots that are neither retired nor stopped. */
  get activeSlots(): number {
    let count = 0;
    for (const slot of this.#slots.values()) if (!slot.stopped) count++;
    return count;
  }

  /** Creates a slot and forks its first worker; `ready` settles with the slot's first readiness. */
  addSlot(env: Readonly<Record<string, string>>): { worker: W; ready: Promise<void> } {
    if (this.#stopped) {
      throw new ClusterError("SHUT_DOWN", "Cannot fork: the cluster is shutting down");
    }
    this.#startWatchdog();
    let settle!: Slot<W>["settle"];
    const firstReady = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    firstReady.catch(() => {});
    const { respawn } = this.#options;
    const slot: Slot<W> = {
      index: this.#nextSlot++,
      env,
      current: undefined,
      restarts: respawn ? new RestartTracker(respawn) : undefined,
      restartTimer: undefined,
      stopped: false,
      replacing: false,
      recycleAt: this.#recycleAt(),
      firstReady,
      settle,
    };
    this.#slots.set(slot.index, slot);
    const worker = this.#fork(slot);
    slot.current = worker;
    return { worker, ready: firstReady };
  }

  /**
   * Replaces every slot's worker, `reloadConcurrency` at a time; stops at the first
   * replacement that does not get ready (`RELOAD_FAILED`). A call while one runs joins it.
   */
  reload(): Promise<void> {
    this.#reloading ??= this.#reloadAll().finally(() => (this.#reloading = undefined));
    return this.#reloading;
  }

  /** Adds slots (resolves once ready) or retires the newest (resolves once they exited). */
  async scale(count: number): Promise<void> {
    const active = [...this.#slots.values()].filter((slot) => !slot.stopped);
    if (count > active.length) {
      const added = Array.from({ length: count - active.length }, () => this.addSlot({}).ready);
      await Promise.all(added);
    } else {
      const removed = active.sort((a, b) => b.index - a.index).slice(0, active.length - count);
      await Promise.all(removed.map((slot) => this.#retire(slot)));
    }
  }

  /** The worker `worker` is replacing, while its slot is being reloaded or recycled. */
  predecessor(worker: W): W | undefined {
    const slot = this.#slots.get(worker.slot);
    return slot?.replacing && slot.current !== worker ? slot.current : undefined;
  }

  /** The worker came online (`stats` null) or sent a heartbeat. */
  heartbeat(worker: W, stats: { requests: number; rss: number } | null): void {
    const watch = this.#watches.get(worker);
    if (!watch) return;
    watch.lastBeat = this.#host.now();
    if (stats) {
      watch.requests = stats.requests;
      watch.rss = stats.rss;
    }
  }

  /** A worker exited: restart its slot if nobody asked it to stop. */
  exited(worker: W, code: number | null, signal: string | null): void {
    const watch = this.#watches.get(worker);
    this.#watches.delete(worker);
    const slot = this.#slots.get(worker.slot);
    if (!slot || slot.current !== worker) return; // a replaced or retired worker
    slot.current = undefined;
    if (this.#stopped || slot.stopped || slot.replacing || worker.exitedAfterDisconnect) return;
    if (!slot.restarts) {
      slot.stopped = true;
      // A worker that never got ready fails its slot (and start()) with its own reason.
      worker.ready.catch((error) => slot.settle.reject(error));
      return;
    }
    const now = this.#host.now();
    const uptime = now - (watch?.startedAt ?? now);
    const delay = slot.restarts.record({ at: now, code, signal }, uptime);
    if (delay === undefined) return this.#crashLoop(slot, worker);
    slot.restartTimer = this.#host.setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.#stopped && !slot.stopped && !slot.current) slot.current = this.#fork(slot);
    }, delay);
  }

  /** Shutdown: no more restarts, reloads or watchdog; slots not ready yet fail with SHUT_DOWN. */
  stop(): void {
    this.#stopped = true;
    if (this.#watchdog !== undefined) this.#host.clearTimeout(this.#watchdog);
    for (const slot of this.#slots.values()) {
      slot.stopped = true;
      if (slot.restartTimer !== undefined) this.#host.clearTimeout(slot.restartTimer);
      if (!slot.current?.isReady) {
        slot.settle.reject(new ClusterError("SHUT_DOWN", `Slot ${slot.index} was shut down`));
      }
    }
  }

  /** Forks a worker for `slot` (it becomes `slot.current` only if the caller says so). */
  #fork(slot: Slot<W>): W {
    const worker = this.#host.fork(slot.index, slot.env);
    const now = this.#host.now();
    this.#watches.set(worker, {
      startedAt: now,
      lastBeat: now,
      unresponsiveSince: undefined,
      requests: 0,
      rss: 0,
    });
    const { readyTimeout } = this.#options;
    const timer = this.#host.setTimeout(() => {
      if (worker.isReady) return;
      const error = new ClusterError(
        "WORKER_START_FAILED",
        `Worker ${worker.id} (slot ${slot.index}) was not ready within ${readyTimeout} ms: killing it`,
      );
      this.#host.emit("error", error, worker.worker);
      worker.terminate("SIGKILL");
    }, readyTimeout);
    this.#host.unref(timer);
    worker.ready.then(() => {
      this.#host.clearTimeout(timer);
      if (slot.current === worker) slot.settle.resolve();
    }, () => this.#host.clearTimeout(timer));
    return worker;
  }

  #crashLoop(slot: Slot<W>, worker: W): void {
    slot.stopped = true;
    const failures = slot.restarts!.failures;
    const ends = failures.map((f) => f.signal ?? String(f.code)).join(", ");
    const tail = worker.stderrTail.trim().split("\n").slice(-5).join("\n");
    const error = new ClusterError(
      "CRASH_LOOP",
      `Slot ${slot.index} stopped restarting: its workers ended ${failures.length} times ` +
        `in a row (${ends}); last error: ${errorLine(worker.stderrTail) || "(none)"}; ` +
        `last stderr lines:\n${tail || "(none)"}\nFix the worker and call scale() or reload()`,
    );
    this.#host.emit("crashloop", slot.index, error);
    this.#host.emit("error", error, worker.worker);
    slot.settle.reject(error);
  }

  async #reloadAll(): Promise<void> {
    const slots = [...this.#slots.values()].filter((slot) => !slot.stopped && slot.current);
    let next = 0;
    let failed = false;
    const lane = async (): Promise<void> => {
      while (!failed && next < slots.length) {
        try {
          await this.#replace(slots[next++]);
        } catch (error) {
          failed = true; // the other lanes finish their slot and take no new one
          throw error;
        }
      }
    };
    const lanes = Math.min(this.#options.reloadConcurrency, slots.length);
    await Promise.all(Array.from({ length: lanes }, lane));
  }

  /** Starts a new worker in `slot`, waits until it is ready, then drains the old one. */
  async #replace(slot: Slot<W>): Promise<void> {
    if (slot.replacing || slot.stopped) return;
    slot.replacing = true;
    const old = slot.current;
    const fresh = this.#fork(slot);
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
    slot.recycleAt = this.#recycleAt();
    if (old && old.state !== "dead") {
      this.#warnIfLossy(old);
      await old.stop(this.#options.shutdownTimeout);
    }
  }

  /** Scale-down: the slot ends for good once its worker drained. */
  async #retire(slot: Slot<W>): Promise<void> {
    slot.stopped = true;
    if (slot.restartTimer !== undefined) this.#host.clearTimeout(slot.restartTimer);
    this.#slots.delete(slot.index);
    slot.settle.resolve(); // a scale() still waiting for this slot is superseded, not failed
    const worker = slot.current;
    if (!worker) return;
    this.#warnIfLossy(worker);
    await worker.stop(this.#options.shutdownTimeout);
  }

  #startWatchdog(): void {
    const { heartbeatTimeout, maxRequests, maxMemory } = this.#options;
    if (
      this.#watchdog !== undefined || !(heartbeatTimeout > 0 || maxRequests > 0 || maxMemory > 0)
    ) {
      return;
    }
    const every = Math.max(50, Math.min(heartbeatTimeout > 0 ? heartbeatTimeout / 4 : 1000, 1000));
    const tick = (): void => {
      this.#watch();
      if (this.#stopped) return;
      this.#watchdog = this.#host.setTimeout(tick, every);
      this.#host.unref(this.#watchdog);
    };
    this.#watchdog = this.#host.setTimeout(tick, every);
    this.#host.unref(this.#watchdog);
  }

  /** Watchdog and recycling, on heartbeats. */
  #watch(): void {
    const now = this.#host.now();
    const { heartbeatTimeout, killTimeout, maxMemory } = this.#options;
    for (const slot of this.#slots.values()) {
      const worker = slot.current;
      if (!worker || worker.state === "none" || worker.state === "dead" || slot.replacing) continue;
      const watch = this.#watches.get(worker);
      if (!watch) continue;
      const silent = now - watch.lastBeat > heartbeatTimeout;
      if (heartbeatTimeout > 0 && silent && !worker.exitedAfterDisconnect) {
        if (watch.unresponsiveSince === undefined) {
          watch.unresponsiveSince = now;
          this.#host.emit("unresponsive", worker.worker);
          worker.terminate("SIGTERM");
        } else if (now - watch.unresponsiveSince > killTimeout) {
          worker.terminate("SIGKILL"); // a blocked event loop never runs its SIGTERM handler
        }
        continue;
      }
      if (!worker.isReady) continue;
      if (watch.requests >= slot.recycleAt) this.#recycle(slot, worker, "requests");
      else if (maxMemory > 0 && watch.rss > maxMemory) this.#recycle(slot, worker, "memory");
    }
  }

  #recycle(slot: Slot<W>, worker: W, reason: "requests" | "memory"): void {
    this.#host.emit("recycle", worker.worker, reason);
    this.#replace(slot).catch((error) => this.#host.emit("error", error, worker.worker));
  }

  /** Up to 10% over `maxRequests`, so that workers started together do not recycle together. */
  #recycleAt(): number {
    const { maxRequests } = this.#options;
    return maxRequests > 0 ? maxRequests * (1 + this.#host.random() * 0.1) : Infinity;
  }

  /** Once per cluster: stopping this worker may lose connections (its server says why). */
  #warnIfLossy(worker: W): void {
    if (worker.lossOnClose === undefined || this.#warned) return;
    this.#warned = true;
    const warning = new ClusterError(
      "RELOAD_MAY_RESET",
      `Worker ${worker.id} (slot ${worker.slot}) is being replaced or removed, and ` +
        worker.lossOnClose,
    );
    if (!this.#host.emit("warning", warning)) console.warn(`[@x/cluster] ${warning.message}`);
  }
}
