/**
 * The primary side: Node's lib/internal/cluster/primary.js as a class. `Cluster` is the public
 * API and the worker registry; it routes the workers' server messages to the `queryServer`
 * broker (`_broker.ts`) through one table, as Node's `methodMessageMapping` does, and leaves
 * slots, restarts, reloads and the watchdog to the supervisor (`_supervisor.ts`).
 *
 * @module
 */

import type { ServerBroker } from "./_broker.ts";
import type { SystemdNotifier } from "./_sd_notify.ts";
import { StatsCollector } from "./_stats.ts";
import { runtime } from "./_runtime.ts";
import { installSignals } from "./_signals.ts";
import { spawnOptions } from "./_spawn.ts";
import { Supervisor } from "./_supervisor.ts";
import { WorkerRecord, type WorkerRecordHooks } from "./_worker_record.ts";
import { type ClusterWorker, currentWorker } from "./child.ts";
import { Emitter } from "./emitter.ts";
import { ClusterError } from "./errors.ts";
import type { ClusterEvents } from "./events.ts";
import type { ClusterOptions, ResolvedOptions, ShutdownOptions } from "./options.ts";
import { checkEnv, resolveOptions } from "./_resolve_options.ts";
import type { ServerMessage } from "./protocol.ts";
import type { ClusterStats } from "./stats.ts";
import type { Adapter, Address, HttpEndpoint } from "./types.ts";
import type { Worker } from "./worker.ts";

/** The broker's module, imported when a Cluster is made (see the constructor). */
type BrokerModule = typeof import("./_broker.ts");

/** A handler of one kind of server message, keyed by its `cmd`. */
type ServerMessageTable = {
  [C in ServerMessage["cmd"]]: (
    record: WorkerRecord,
    message: Extract<ServerMessage, { cmd: C }>,
    handle: unknown,
  ) => void | Promise<void>;
};

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
  /** The adapter, once loaded. */
  #loaded: Adapter | undefined;
  #nextId = 1;
  #records = new Map<number, WorkerRecord>();
  #workers = new Map<number, Worker>();
  /** The broker, once its module loaded (`#brokerLoaded`). */
  #broker: ServerBroker<WorkerRecord> | undefined;
  #brokerLoaded: Promise<BrokerModule>;
  #supervisor: Supervisor<WorkerRecord>;
  #shutdown: Promise<void> | undefined;
  #signalsInstalled = false;
  /** A SIGTERM/SIGINT began the shutdown (then `start()` does not reject: see there). */
  #signalled = false;
  #uninstallSignals: (() => void) | undefined;
  #stats: StatsCollector;
  #metrics: Promise<HttpEndpoint | undefined> | undefined;
  #metricsAddress: Address | undefined;
  #systemd: SystemdNotifier | undefined;
  #recordHooks: WorkerRecordHooks = {
    emit: (event, ...args) => this.emit(event, ...args),
    dispatch: (record, message, handle) => this.#dispatch(record, message, handle),
    heartbeat: (record, stats) => this.#supervisor.heartbeat(record, stats),
    stats: (record, message) => this.#stats.report(record, message),
    handedOff: (record, key, seconds, accepted) =>
      this.#stats.handedOff(record, key, seconds, accepted),
    forget: (record, dead) => this.#forget(record, dead),
    exited: (record, code, signal) => this.#supervisor.exited(record, code, signal),
  };
  /** Node's `methodMessageMapping`: the cluster's handler of each server message. */
  #serverMessages: ServerMessageTable = {
    query: (record, message) => {
      record.queried(message.seq, message.path ?? message.hostname);
      return this.#broker!.query(record, message);
    },
    listening: (record, message) => {
      // Synchronous, so that "listening" is emitted before messages the worker sent after it.
      if (this.#broker!.listening(record, message.key, message.address)) {
        record.listening(message.address, message.lossOnClose, message.key);
      } else if (!record.exitedAfterDisconnect) {
        // (A worker being disconnected may report a bind that raced with it: not an error.)
        record.reportBadMessage(`listening on ${message.key}, which it never asked for`);
      }
    },
    close: (record, message) => this.#broker!.leave(record, message.key),
    claim: (record, message) => this.#broker!.claim(record, message.key),
    returned: (record, message, handle) =>
      this.#broker!.returned(record, message.key, handle, message.tried ?? []),
  };

  /** Creates a cluster; nothing starts until `start()` or `fork()`. Throws on a bad option. */
  constructor(options: ClusterOptions = {}) {
    super();
    this.#options = resolveOptions(options);
    const { adapter } = this.#options;
    this.#adapter = adapter ? Promise.resolve(adapter) : runtime().loadAdapter();
    this.#adapter.then((loaded) => (this.#loaded = loaded), () => {});
    // Imported, not a static import: a worker process loads this module (mod.ts exports Cluster)
    // but makes no Cluster, and the broker's ~15 files (handles, schedulers, sticky routing)
    // cost each worker 8–9 ms of CPU on Deno and Bun from source (issue #10, startup). A
    // primary loads it while the adapter loads; messages that come before it wait (#dispatch).
    this.#brokerLoaded = import("./_broker.ts").then((module) => {
      this.#broker = new module.ServerBroker(this.#adapter, {
        policy: this.#options.policy,
        scheduler: this.#options.scheduler,
        trustProxy: this.#options.trustProxy,
        sticky: this.#options.sticky,
        schedulerError: (error) => this.emit("error", error, undefined),
        maxInFlight: this.#options.maxInFlight,
        strictReloads: this.#options.strictReloads,
        predecessor: (member) => this.#supervisor.predecessor(member),
      });
      return module;
    });
    this.#brokerLoaded.catch(() => {}); // start() reports it
    this.#supervisor = new Supervisor(this.#options, {
      fork: (slot, env) => this.#fork(slot, env),
      now: () => performance.now(),
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
      unref: (timer) => {
        this.#adapter.then((a) => a.unrefTimer(timer as ReturnType<typeof setTimeout>), () => {});
      },
      random: Math.random,
      emit: (event, ...args) => this.emit(event, ...args),
    });
    this.#stats = new StatsCollector({
      workers: () => this.#records.values(),
      listeners: () => this.#broker?.listeners() ?? [],
      activeSlots: () => this.#supervisor.activeSlots,
      shuttingDown: () => this.#shutdown !== undefined,
      now: () => performance.now(),
      wallClock: () => Date.now(),
    }, this);
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
    const { policy, serialization } = this.#options;
    // An unset policy is decided per address (serve() or listen()): checked at each query. Only
    // a set policy waits for the broker's module here; else the workers boot while it loads.
    const missing = policy && (await this.#brokerLoaded).missingCapability(adapter, policy);
    if (missing) throw new ClusterError("UNSUPPORTED", missing);
    if (!adapter.capabilities.serialization.includes(serialization)) {
      throw new ClusterError(
        "UNSUPPORTED",
        `Serialization "${serialization}" is not available on ${adapter.runtime} ` +
          `${adapter.version}: use ${adapter.capabilities.serialization.join(" or ")}`,
      );
    }
    this.#installSignals(adapter);
    // Before the workers: /readyz answers 503 while they start.
    await this.#serveMetrics(adapter);
    await this.#connectSystemd(adapter);
    const count = this.#options.workers ?? adapter.availableParallelism();
    try {
      await Promise.all([
        this.#brokerLoaded, // rejects start() if the broker cannot load
        ...Array.from({ length: count }, () => this.#supervisor.addSlot({}).ready),
      ]);
    } catch (error) {
      // A signal shut the cluster down meanwhile, and the process exits once its workers are
      // stopped. Rejecting would hand the program an error it did not cause, which (unhandled,
      // as in `await cluster.start()`) ended the primary before it had stopped its workers.
      if (this.#signalled && error instanceof ClusterError && error.code === "SHUT_DOWN") {
        return new Promise<void>(() => {});
      }
      throw error;
    }
    this.#systemd?.ready(`${this.#stats.readySlots()} workers ready`);
  }

  /**
   * Forks one more worker (in a new slot, supervised like the others) with extra environment
   * variables (string values). Returns at once; the worker comes online later.
   */
  fork(env: Record<string, string> = {}): Worker {
    if (this.#shutdown) {
      throw new ClusterError("SHUT_DOWN", "Cannot fork: the cluster is shutting down");
    }
    const extra = checkEnv("Cannot fork", "env", env);
    this.#adapter.then((adapter) => this.#installSignals(adapter), () => {});
    return this.#supervisor.addSlot(extra).worker.worker;
  }

  /**
   * What the primary knows now of its workers (pid, slot, state, uptime, restarts by reason,
   * requests, open connections, rss, CPU, event-loop lag), its listen addresses (queued
   * connections, round-robin handoffs and their latency) and reloads. Worker figures are as old
   * as their last report (`statsInterval`). See docs/observability.md.
   *
   * @example Print requests per worker
   * ```ts ignore
   * for (const w of cluster.stats().workers) console.log(w.id, w.requests, w.rss);
   * ```
   */
  stats(): ClusterStats {
    return this.#stats.snapshot();
  }

  /** The address of the `metrics` listener once `start()` bound it; else `undefined`. */
  get metricsAddress(): Address | undefined {
    return this.#metricsAddress;
  }

  /** Sends `message` to every connected worker. */
  async broadcast(message: unknown): Promise<void> {
    const sends = [];
    for (const record of this.#records.values()) {
      if (record.connected) sends.push(record.send(message));
    }
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
    const systemd = this.#systemd;
    const joined = this.#stats.reloading;
    if (!joined) systemd?.reloading("reloading workers");
    const reloading = this.#stats.reload(() => this.#supervisor.reload());
    // After a failed reload the old workers still serve: ready again either way.
    const ready = (how: string) => () =>
      systemd?.ready(`${how}; ${this.#stats.readySlots()} workers ready`);
    if (!joined) reloading.then(ready("reloaded"), ready("reload failed"));
    return reloading;
  }

  /**
   * Grows or shrinks the cluster to `count` workers. New slots are forked (resolves once they
   * are ready); removed slots (the newest first) drain gracefully (resolves once they exited).
   */
  async scale(count: number): Promise<void> {
    if (!(Number.isInteger(count) && count >= 0)) {
      throw new RangeError(
        `Cannot scale: 'count' must be an integer >= 0: current value is ${count}`,
      );
    }
    if (this.#shutdown) {
      throw new ClusterError("SHUT_DOWN", "Cannot scale: the cluster is shutting down");
    }
    this.#installSignals(await this.#adapter);
    await this.#supervisor.scale(count);
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
    this.#shutdown ??= this.#shutDown(timeout);
    return this.#shutdown;
  }

  async #shutDown(timeout: number): Promise<void> {
    this.#systemd?.stopping("stopping: workers drain");
    this.#supervisor.stop();
    // Stop accepting first (the primary's listen sockets), then let the workers drain.
    await this.#brokerLoaded.catch(() => {});
    await this.#broker?.closeAll();
    await Promise.all([...this.#records.values()].map((record) => record.stop(timeout)));
    // The health listener answered 503 while the workers drained; now it goes too.
    await (await this.#metrics?.catch(() => undefined))?.close();
    this.#stats.stop();
    this.#systemd?.stop();
    await this.#systemd?.flushed();
    this.#uninstallSignals?.();
  }

  /** Talks to systemd when `$NOTIFY_SOCKET` is set (and the `systemd` option allows). */
  async #connectSystemd(adapter: Adapter): Promise<void> {
    if (!this.#options.systemd || this.#systemd) return;
    const channel = await adapter.systemd().catch((error) => {
      this.emit("error", error as Error, undefined);
      return undefined;
    });
    if (!channel || this.#systemd || this.#shutdown) return;
    // Imported here: only a primary under systemd needs it.
    const { SystemdNotifier } = await import("./_sd_notify.ts");
    if (this.#systemd || this.#shutdown) return;
    this.#systemd = new SystemdNotifier(channel, {
      setInterval: (callback, ms) => {
        const timer = setInterval(callback, ms);
        adapter.unrefTimer(timer);
        return timer;
      },
      clearInterval: (timer) => clearInterval(timer as ReturnType<typeof setInterval>),
      error: (error) => this.emit("error", error, undefined),
    });
    this.#systemd.startWatchdog();
  }

  /** Binds the `metrics` listener (once); rejects with the system code if it cannot. */
  async #serveMetrics(adapter: Adapter): Promise<void> {
    const options = this.#options.metrics;
    if (!options || this.#shutdown) return;
    // Imported here: only a primary with `metrics` needs the endpoint (and its text format).
    this.#metrics ??= import("./_metrics_endpoint.ts").then(({ metricsHandler }) =>
      adapter.serveHttp(
        { hostname: options.hostname, port: options.port, backlog: undefined },
        metricsHandler(this.#stats, () => this.stats()),
      )
    ).then((endpoint) => {
      this.#metricsAddress = endpoint.address;
      return endpoint;
    }, (error) => {
      this.#metrics = undefined;
      const code = (error as { code?: unknown })?.code;
      throw new ClusterError(
        typeof code === "string" && code.startsWith("E") ? code as `E${string}` : "EUNKNOWN",
        `Cannot serve metrics on ${options.hostname}:${options.port}: ` +
          `${(error as Error)?.message}; choose another 'metrics.port'`,
        { cause: error },
      );
    });
    await this.#metrics;
  }

  /** The supervisor's `fork`: a new record in the registry, spawned once the adapter is here. */
  #fork(slot: number, env: Readonly<Record<string, string>>): WorkerRecord {
    const record = new WorkerRecord(
      this.#nextId++,
      slot,
      this.#options.readiness,
      this.#recordHooks,
    );
    this.#records.set(record.id, record);
    this.#workers.set(record.id, record.worker);
    const spawn = (adapter: Adapter) => {
      this.#monitorPrimary(adapter);
      let options;
      try {
        options = spawnOptions(adapter, this.#options, record, env);
      } catch (error) {
        // Later, not now: `fork` is emitted first and the supervisor has made the record its
        // slot's worker, so the failure settles start()/scale()/reload() (review R7).
        queueMicrotask(() => record.spawnFailed(error));
        return;
      }
      record.attach(
        adapter.spawn(options, record.processEvents()),
        adapter.capabilities.handoffReceipts === true,
      );
    };
    // Once the adapter is there (given as an option, or loaded: always in start()), the process
    // is spawned before `fork` is emitted, so that listeners find its pid and stdio pipes, as
    // with node:cluster (compat relies on it); before that, it is spawned once it loaded.
    const loaded = this.#options.adapter ?? this.#loaded;
    if (loaded) spawn(loaded);
    else this.#adapter.then(spawn, (error) => record.spawnFailed(error));
    this.emit("fork", record.worker);
    return record;
  }

  #monitorStarted = false;
  /**
   * Measures the primary process too, once something reads stats() (a timer of the adapter's:
   * with no metrics listener and nobody calling stats(), none runs).
   */
  #monitorPrimary(adapter: Adapter): void {
    if (this.#monitorStarted || this.#shutdown) return;
    this.#monitorStarted = true;
    this.#stats.monitor(() => adapter.monitor()); // made by the first stats(), not before
  }

  #dispatch(record: WorkerRecord, message: ServerMessage, handle: unknown): void | Promise<void> {
    const handler = this.#serverMessages[message.cmd] as (
      record: WorkerRecord,
      message: ServerMessage,
      handle: unknown,
    ) => void | Promise<void>;
    // Before the broker's module loaded (a fork() right after `new Cluster()`), messages wait for
    // it, in the order they came.
    if (!this.#broker) return this.#brokerLoaded.then(() => handler(record, message, handle));
    return handler(record, message, handle);
  }

  #installSignals(adapter: Adapter): void {
    if (this.#signalsInstalled || !this.#options.signals || this.#shutdown) return;
    this.#signalsInstalled = true;
    const supervisor = this.#supervisor;
    this.#uninstallSignals = installSignals(adapter, {
      shutdown: () => {
        this.#signalled = true;
        return this.shutdown();
      },
      reload: () => this.reload(),
      scale: (count) => this.scale(count),
      get activeSlots() {
        return supervisor.activeSlots;
      },
      killAll: () => {
        for (const record of this.#records.values()) record.kill("SIGKILL");
      },
      error: (error) => this.emit("error", error as Error, undefined),
    });
  }

  /** A worker leaves: drop it from every handle and, once dead, from the registry. */
  #forget(record: WorkerRecord, dead: boolean): void {
    const leave = () => this.#broker!.leaveAll(record);
    // After any message of the record still waiting for the broker (#dispatch).
    (this.#broker ? leave() : this.#brokerLoaded.then(leave))
      .catch((error) => this.emit("error", error, record.worker));
    if (dead) {
      this.#workers.delete(record.id);
      this.#records.delete(record.id);
    }
  }
}
