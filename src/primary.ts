/**
 * The primary side: Node's lib/internal/cluster/primary.js as a class. It owns the worker
 * registry, forking, and the `queryServer` broker that maps each listen address to one
 * round-robin, shared or reuse-port handle.
 *
 * @module
 */

import { Channel } from "./_channel.ts";
import { Emitter } from "./emitter.ts";
import { ENV_TOKEN, ENV_WORKER_ID, runtime } from "./_runtime.ts";
import { type ClusterWorker, currentWorker } from "./child.ts";
import { ClusterError } from "./errors.ts";
import {
  createToken,
  decodeAtPrimary,
  type QueryResult,
  type WorkerToPrimary,
} from "./protocol.ts";
import { ReusePortHandle } from "./reuse_port_handle.ts";
import { RoundRobinHandle } from "./round_robin_handle.ts";
import { SharedHandle, type ShareTarget } from "./shared_handle.ts";
import type { Adapter, Address, Policy, ProcessHandle, Serialization } from "./types.ts";
import { POLICIES } from "./types.ts";
import { Worker, type WorkerLink, type WorkerState } from "./worker.ts";

/** Options of {@linkcode Cluster}. Every field is optional. */
export interface ClusterOptions {
  /** Workers `start()` forks. @default the number of CPUs available to the process */
  workers?: number;
  /** How connections reach workers; `serve()`/`listen()` may override it. @default "round-robin" */
  policy?: Policy;
  /** Module the workers run. @default the primary's main module */
  exec?: string;
  /** Arguments passed to the workers' script. @default [] */
  args?: string[];
  /**
   * Runtime flags of the workers. @default the primary's own: `process.execArgv` on Node and
   * Bun; on Deno the permissions granted in full (never broader) and `--unstable-net` if on
   */
  execArgv?: string[];
  /** Extra environment for every worker, on top of the primary's. @default {} */
  env?: Record<string, string>;
  /** Working directory of the workers. @default the primary's */
  cwd?: string;
  /**
   * Do not share the primary's stdout/stderr with workers: their stdout is discarded and the
   * tail of their stderr only goes into error messages. @default false
   */
  silent?: boolean;
  /** IPC serialization. @default "json" */
  serialization?: Serialization;
  /** Round-robin: connection handoffs a worker may have unacknowledged. @default 16 */
  maxInFlight?: number;
  /** How long `shutdown()` lets workers disconnect before killing them (ms). @default 10000 */
  shutdownTimeout?: number;
  /** The runtime adapter. @default the one detected for this runtime */
  adapter?: Adapter;
}

/** Events of a {@linkcode Cluster}, with the worker they concern first. */
export type ClusterEvents = {
  /** A worker was forked (its process may not run yet). */
  fork: [worker: Worker];
  /** A worker is running and connected. */
  online: [worker: Worker];
  /** A server in a worker is bound to `address`. */
  listening: [worker: Worker, address: Address];
  /** A message from a worker (and the handle sent with it, if any). */
  message: [worker: Worker, message: unknown, handle: unknown];
  /** A worker's IPC channel closed. */
  disconnect: [worker: Worker];
  /** A worker exited; `signal` is set if a signal killed it. */
  exit: [worker: Worker, code: number | null, signal: string | null];
  /** Something went wrong; `worker` is set when one worker is concerned. */
  error: [error: Error, worker: Worker | undefined];
};

/** Options of {@linkcode Cluster.shutdown}. */
export interface ShutdownOptions {
  /** Ms to wait for workers to disconnect before killing them. @default `shutdownTimeout` */
  timeout?: number;
}

const STDERR_TAIL = 4096;

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
  #options: ClusterOptions;
  #adapter: Promise<Adapter>;
  #nextId = 1;
  #slots = new Map<number, Slot>();
  #workers = new Map<number, Worker>();
  #handles = new Map<string, Promise<Handle>>();
  #bound = new Map<string, Handle>();
  #shutdown: Promise<void> | undefined;
  #hooks: SlotHooks = {
    onInternal: (slot, message, handle) => this.#onInternal(slot, message, handle),
    forget: (slot, dead) => this.#forget(slot, dead),
  };

  /** Creates a cluster; nothing starts until `start()` or `fork()`. */
  constructor(options: ClusterOptions = {}) {
    super();
    validateOptions(options);
    this.#options = { ...options };
    this.#adapter = options.adapter ? Promise.resolve(options.adapter) : runtime().loadAdapter();
    this.#adapter.catch(() => {});
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
   * Forks `workers` workers in parallel; resolves once all are online. Rejects with
   * `ClusterError` code `WORKER_START_FAILED` if one exits or fails before that.
   */
  async start(): Promise<void> {
    const adapter = await this.#adapter;
    const missing = missingCapability(adapter, this.#options.policy ?? "round-robin");
    if (missing) throw new ClusterError("UNSUPPORTED", missing);
    const serialization = this.#options.serialization ?? "json";
    if (!adapter.capabilities.serialization.includes(serialization)) {
      throw new ClusterError(
        "UNSUPPORTED",
        `Serialization "${serialization}" is not available on ${adapter.runtime} ` +
          `${adapter.version}: use ${adapter.capabilities.serialization.join(" or ")}`,
      );
    }
    const count = this.#options.workers ?? adapter.availableParallelism();
    await Promise.all(Array.from({ length: count }, () => this.#slot(this.fork()).online));
  }

  /** Forks one more worker with extra environment variables. */
  fork(env: Record<string, string> = {}): Worker {
    if (this.#shutdown) {
      throw new ClusterError("SHUT_DOWN", "Cannot fork: the cluster is shutting down");
    }
    if (typeof env !== "object" || env === null) {
      throw new TypeError(`Cannot fork: env must be an object, got ${typeof env}`);
    }
    const slot = new Slot(this.#nextId++, this, this.#hooks);
    this.#slots.set(slot.id, slot);
    this.#workers.set(slot.id, slot.worker);
    this.emit("fork", slot.worker);
    this.#adapter.then(
      (adapter) => this.#spawn(adapter, slot, env),
      (error) => slot.failed(error),
    );
    return slot.worker;
  }

  /** Sends `message` to every connected worker. */
  async broadcast(message: unknown): Promise<void> {
    const sends = [...this.#slots.values()].filter((s) => s.connected).map((s) =>
      s.send(message)
    );
    await Promise.allSettled(sends);
  }

  /**
   * Disconnects every worker, kills those still alive after `timeout`, waits for all exits and
   * closes the listen sockets. Idempotent: later calls return the same promise.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.#shutdown ??= this.#doShutdown(options.timeout ?? this.#options.shutdownTimeout ?? 10_000);
    return this.#shutdown;
  }

  async #doShutdown(timeout: number): Promise<void> {
    // Stop accepting first (the primary's listen sockets), then let the workers drain.
    const handles = await Promise.allSettled(this.#handles.values());
    this.#handles.clear();
    this.#bound.clear();
    await Promise.all(
      handles.map((h) => h.status === "fulfilled" && "close" in h.value ? h.value.close() : null),
    );
    await Promise.all([...this.#slots.values()].map((slot) => slot.stop(timeout)));
  }

  #slot(worker: Worker): Slot {
    return this.#slots.get(worker.id)!;
  }

  #spawn(adapter: Adapter, slot: Slot, extraEnv: Record<string, string>): void {
    const o = this.#options;
    const exec = o.exec ?? adapter.mainModule();
    if (!exec) {
      slot.failed(new TypeError("Cannot fork: no main module to run; set the `exec` option"));
      return;
    }
    const env: Record<string, string> = {
      ...adapter.envObject(),
      ...o.env,
      ...extraEnv,
      [ENV_WORKER_ID]: String(slot.id),
      [ENV_TOKEN]: slot.token,
    };
    slot.attach(adapter.spawn({
      exec,
      args: o.args ?? [],
      execArgv: o.execArgv ?? adapter.inheritedExecArgv(),
      env,
      cwd: o.cwd,
      silent: o.silent ?? false,
      serialization: o.serialization ?? "json",
    }, slot.events()));
  }

  /** Routes one decoded internal message from a worker. */
  async #onInternal(slot: Slot, message: WorkerToPrimary, handle: unknown): Promise<void> {
    switch (message.cmd) {
      case "online":
        return slot.online_();
      case "query":
        return await this.#query(slot, message);
      case "listening": {
        // Synchronous, so that "listening" is emitted before messages the worker sent after it.
        const handle = this.#bound.get(message.key);
        if (!slot.keys.has(message.key) || !handle) {
          // A worker we are disconnecting may report a bind that raced with it: not an error.
          if (slot.exitedAfterDisconnect) return;
          return slot.bad(`listening on ${message.key}, which it never asked for`);
        }
        slot.listening(message.address);
        if (handle instanceof RoundRobinHandle) handle.add(slot);
        if (handle instanceof ReusePortHandle) handle.bound(slot.id, message.address.port);
        return;
      }
      case "close":
        return this.#leave(slot, message.key);
      case "reply":
        if (!slot.channel.settle(message.ack, message, handle)) {
          slot.bad(`reply to unknown request ${message.ack}`);
        }
    }
  }

  /** Answers a worker's `query` (Node's `queryServer`): find or create the handle for the key. */
  async #query(slot: Slot, q: Extract<WorkerToPrimary, { cmd: "query" }>): Promise<void> {
    const adapter = await this.#adapter;
    const policy = q.policy ?? this.#options.policy ?? "round-robin";
    const missing = missingCapability(adapter, policy);
    if (missing) return slot.reply(q.seq, { ok: false, code: "UNSUPPORTED", message: missing });
    const key = `${policy}|${q.hostname ?? ""}|${q.port}`;
    let pending = this.#handles.get(key);
    if (!pending) {
      pending = this.#createHandle(adapter, policy, key, q);
      this.#handles.set(key, pending);
      pending.then((handle) => this.#bound.set(key, handle), () => this.#handles.delete(key));
    }
    const ok = (port: number, hostname = q.hostname): QueryResult => ({
      ok: true,
      policy,
      key,
      hostname,
      port,
    });
    try {
      const handle = await pending;
      if (!slot.connected) return; // the worker left while the primary was binding
      slot.keys.add(key);
      if (handle instanceof RoundRobinHandle) {
        const address = handle.listener!.address;
        return slot.reply(q.seq, ok(address.port, address.hostname));
      }
      if (handle instanceof ReusePortHandle) return slot.reply(q.seq, ok(await handle.portFor(slot.id)));
      await handle.acquire(slot, (listenHandle) => slot.reply(q.seq, ok(q.port), listenHandle));
    } catch (error) {
      await slot.reply(q.seq, bindError(error, q.hostname, q.port));
    }
  }

  async #createHandle(
    adapter: Adapter,
    policy: Policy,
    key: string,
    q: Extract<WorkerToPrimary, { cmd: "query" }>,
  ): Promise<RoundRobinHandle | SharedHandle | ReusePortHandle> {
    const options = { hostname: q.hostname ?? undefined, port: q.port, backlog: q.backlog ?? undefined };
    if (policy === "reuse-port") return new ReusePortHandle(key, q.port);
    if (policy === "shared") {
      return new SharedHandle(key, {
        bind: (onConnection) => adapter.listen(options, onConnection),
        adopt: (handle, onConnection) => adapter.adopt(handle, onConnection),
      });
    }
    const handle = new RoundRobinHandle(key, {
      maxInFlight: this.#options.maxInFlight ?? 16,
      maxQueue: Math.max(q.backlog ?? 511, 64),
    });
    handle.listener = await adapter.listen(options, (c) => handle.distribute(c));
    return handle;
  }

  /** Removes `slot` from the handle under `key`, closing the handle when it is unused. */
  async #leave(slot: Slot, key: string): Promise<void> {
    slot.keys.delete(key);
    const pending = this.#handles.get(key);
    const handle = await pending?.catch(() => undefined);
    if (!handle) return;
    handle.remove(slot.id);
    if (handle.size === 0 && this.#handles.get(key) === pending) {
      this.#handles.delete(key);
      this.#bound.delete(key);
      if ("close" in handle) await handle.close();
    }
  }

  /** A worker left for good: drop it from every handle and, once dead, from the registry. */
  async #forget(slot: Slot, dead: boolean): Promise<void> {
    for (const key of [...slot.keys]) await this.#leave(slot, key);
    if (dead) {
      this.#workers.delete(slot.id);
      this.#slots.delete(slot.id);
    }
  }
}

type Handle = RoundRobinHandle | SharedHandle | ReusePortHandle;

/** What a slot calls back into its cluster for. */
interface SlotHooks {
  onInternal(slot: Slot, message: WorkerToPrimary, handle: unknown): Promise<void>;
  forget(slot: Slot, dead: boolean): Promise<void>;
}

/** One worker's bookkeeping in the primary; the public {@linkcode Worker} is its facade. */
class Slot implements WorkerLink, ShareTarget {
  readonly id: number;
  readonly token: string = createToken();
  readonly worker: Worker;
  readonly channel: Channel;
  readonly keys = new Set<string>();
  readonly online: Promise<void>;
  #cluster: Cluster;
  #hooks: SlotHooks;
  #process: ProcessHandle | undefined;
  #state: WorkerState = "none";
  #exitedAfterDisconnect = false;
  #wasOnline = false;
  #disconnected = false;
  #stderr = "";
  #onlineSettle!: { resolve(): void; reject(error: Error): void };
  #exited: Promise<void>;
  #exitedResolve!: () => void;
  #spawned!: { resolve(process: ProcessHandle): void; reject(error: Error): void };

  constructor(id: number, cluster: Cluster, hooks: SlotHooks) {
    this.id = id;
    this.#cluster = cluster;
    this.#hooks = hooks;
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
    this.online = new Promise((resolve, reject) => (this.#onlineSettle = { resolve, reject }));
    this.online.catch(() => {});
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
    this.worker.emit("online");
    this.#cluster.emit("online", this.worker);
    this.#onlineSettle.resolve();
  }

  listening(address: Address): void {
    if (this.#state === "online") this.#state = "listening";
    this.worker.emit("listening", address);
    this.#cluster.emit("listening", this.worker, address);
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
      this.#cluster.emit("message", this.worker, decoded.data, handle);
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
    this.#cluster.emit("disconnect", this.worker);
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
      const error = new ClusterError(
        "WORKER_START_FAILED",
        `Worker ${this.id} ${how} before it came online: ${why}`,
      );
      this.#emitError(error);
      this.#onlineSettle.reject(error);
    } else if (!this.#exitedAfterDisconnect && (code !== 0 || signal !== null)) {
      this.#emitError(
        new ClusterError("WORKER_EXITED", `Worker ${this.id} ${how} unexpectedly: ${why}`),
      );
    }
    this.worker.emit("exit", code, signal);
    this.#cluster.emit("exit", this.worker, code, signal);
    this.#exitedResolve();
  }

  #emitError(error: Error): void {
    this.worker.emit("error", error);
    this.#cluster.emit("error", error, this.worker);
  }
}

/** The most telling line of a worker's stderr: its last error message, not a stack frame. */
function errorLine(stderr: string): string {
  const lines = stderr.split("\n").map((line) => line.trim()).filter(Boolean);
  const errors = lines.filter((line) => /error/i.test(line) && !line.startsWith("at "));
  return errors[errors.length - 1] ?? lines.slice(-3).join(" | ");
}

function validateOptions(o: ClusterOptions): void {
  if (typeof o !== "object" || o === null) throw new TypeError("Cluster options must be an object");
  if (o.workers !== undefined && !(Number.isInteger(o.workers) && o.workers >= 0)) {
    throw new RangeError(`Invalid workers: expected an integer >= 0, got ${o.workers}`);
  }
  if (o.policy !== undefined && !POLICIES.includes(o.policy)) {
    throw new TypeError(`Invalid policy "${o.policy}": use one of ${POLICIES.join(", ")}`);
  }
  if (o.serialization !== undefined && o.serialization !== "json" && o.serialization !== "advanced") {
    throw new TypeError(`Invalid serialization "${o.serialization}": use "json" or "advanced"`);
  }
  if (o.maxInFlight !== undefined && !(Number.isInteger(o.maxInFlight) && o.maxInFlight >= 1)) {
    throw new RangeError(`Invalid maxInFlight: expected an integer >= 1, got ${o.maxInFlight}`);
  }
}

function missingCapability(adapter: Adapter, policy: Policy): string | undefined {
  const caps = adapter.capabilities;
  const where = `${adapter.runtime} ${adapter.version}`;
  if (policy === "reuse-port" && caps.reusePort !== true) {
    return `Policy "reuse-port" is not available on ${where}: ${caps.reusePort.reason}; ` +
      `use "round-robin"`;
  }
  if (policy === "shared" && caps.sharedListenHandle !== true) {
    return `Policy "shared" is not available on ${where}: ${caps.sharedListenHandle.reason}; ` +
      `use "round-robin" or "reuse-port"`;
  }
  if (policy !== "reuse-port" && !caps.handlePassing) {
    return `Policy "${policy}" needs handle passing, which ${where} lacks; use "reuse-port"`;
  }
  return undefined;
}

function bindError(error: unknown, hostname: string | null, port: number): QueryResult {
  const code = (error as { code?: unknown })?.code;
  return {
    ok: false,
    code: typeof code === "string" ? code : "EUNKNOWN",
    message: `The primary could not listen on ${hostname ?? "*"}:${port}: ` +
      `${(error as Error)?.message ?? String(error)}`,
  };
}
