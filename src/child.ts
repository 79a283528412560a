/**
 * The worker side: Node's lib/internal/cluster/child.js. It connects to the primary, says
 * `online`, asks the primary where to get connections for each address it serves
 * (`_getServer` / `queryServer`, in src/_worker_servers.ts), and takes handed-over connections.
 *
 * @module
 */

import { Channel } from "./_channel.ts";
import { WorkerMetrics } from "./_metrics_registry.ts";
import type { StatsMessage } from "./_stats_message.ts";
import { reportStats } from "./_stats_reporter.ts";
import { Emitter } from "./emitter.ts";
import { runtime } from "./_runtime.ts";
import { type ChildState, onPrimaryMessage } from "./_child_messages.ts";
import type { Adapter, FetchHandler, ParentChannel } from "./types.ts";
import type { BoundUdp, UdpOptions } from "./_udp.ts";
import type { ServeOptions } from "./serve_options.ts";
import { type BoundServer, speaksHttp, WorkerServers } from "./_worker_servers.ts";

export type { BoundServer };

/** A worker's link to its primary, once connected. */
type Connection = { adapter: Adapter; parent: ParentChannel; channel: Channel };

/** Events of {@linkcode ClusterWorker}. */
export type ClusterWorkerEvents = {
  /**
   * The primary asked this worker to stop (shutdown, reload, scale-down, recycle) or it got
   * SIGTERM/SIGINT: servers stop accepting now; pass cleanup work to `waitUntil()`.
   */
  shutdown: [];
  /** A message from the primary (and a handle, if one came with it). */
  message: [message: unknown, handle: unknown];
  /** The channel to the primary closed; the process exits right after the listeners ran. */
  disconnect: [];
  /** A malformed or forged message was dropped. */
  error: [error: Error];
};

/**
 * This worker process's side of the cluster, available as `Cluster.worker` in a worker.
 *
 * @example Serve HTTP from every worker
 * ```ts ignore
 * import { Cluster } from "@x/cluster";
 * const worker = Cluster.worker;
 * worker.on("message", (message) => console.log("from primary:", message));
 * const { port } = await worker.serve({ port: 8000 }, () => new Response(`worker ${worker.id}`));
 * await worker.send({ serving: port });
 * ```
 */
export class ClusterWorker extends Emitter<ClusterWorkerEvents> {
  /** This worker's id, as the primary knows it. */
  readonly id: number;
  #adapter: Promise<Adapter>;
  #ready: Promise<{ adapter: Adapter; parent: ParentChannel; channel: Channel }>;
  #parent: ParentChannel | undefined;
  /** The servers of serve()/listen()/bindUdp(), and their queries (src/_worker_servers.ts). */
  #servers: WorkerServers;
  #disconnecting: Promise<void> | undefined;
  #connection: Connection | undefined;
  /** Sends made before the connection that still wait for it (later ones queue behind them). */
  #early = 0;
  #connectWith: (adapter: Adapter) => Connection;
  #shutdown = new AbortController();
  #tasks: Promise<unknown>[] = [];
  #metrics = new WorkerMetrics();
  /** countRequests(): readers of requests served by servers the core does not run. */
  #requestCounters: Array<() => number> = [];
  /** What src/_child_messages.ts reads and calls for the primary's messages. */
  #state: ChildState;

  /** Used by the package entry; get the instance from `Cluster.worker`. */
  constructor(
    id: number,
    token: string,
    adapter: Promise<Adapter>,
    options: { heartbeat?: number; signals?: boolean; stats?: number } = {},
  ) {
    super();
    this.id = id;
    this.#adapter = adapter;
    this.#servers = new WorkerServers(id, () => this.#parent?.connected === true);
    this.#state = {
      servers: this.#servers.byKey,
      starting: this.#servers.starting,
      load: () => this.#servers.load,
      message: (data, handle) => this.emit("message", data, handle),
      error: (error) => this.emit("error", error),
      disconnect: () => void this.disconnect().catch(() => {}),
    };
    const { heartbeat = 0, signals = true, stats = 0 } = options;
    this.#connectWith = (a) => {
      this.#connection ??= this.#connect(a, token, heartbeat, signals, stats);
      return this.#connection;
    };
    this.#ready = adapter.then((a) => this.#connectWith(a));
    this.#ready.catch((error) => {
      console.error(`[@x/cluster] worker ${id} could not connect to its primary:`, error);
    });
  }

  /**
   * The application's own counters and gauges, which the primary combines across workers on
   * its `/metrics` (the cluster's `metrics` option; sent with the `statsInterval` reports).
   */
  get metrics(): WorkerMetrics {
    return this.#metrics;
  }

  /**
   * After a disconnect that was asked for (`disconnect()`, or the primary's), the process is
   * left to end by itself once nothing keeps it alive, as a `node:cluster` worker is (compat
   * sets it); a channel lost otherwise still exits at once. The primary still kills a worker
   * that outlives its shutdown deadline.
   * @default false: the process exits with code 0 as soon as its channel closed
   */
  lingerAfterDisconnect = false;

  /**
   * Connects to the primary at once through `adapter`, and says `online`, instead of once the
   * package's adapter has loaded; compat does it (with an adapter made synchronously) so that
   * the worker is online before its program runs, as in node:cluster. Once connected, nothing.
   */
  connectNow(adapter: Adapter): void {
    this.#connectWith(adapter);
  }

  /** Aborted when this worker is asked to stop (see the `shutdown` event). */
  get signal(): AbortSignal {
    return this.#shutdown.signal;
  }

  /**
   * Keeps the worker alive after a shutdown request until `promise` settles (close pools,
   * flush logs). The primary still kills the worker at its shutdown deadline.
   */
  waitUntil(promise: Promise<unknown>): void {
    this.#tasks.push(Promise.resolve(promise).catch(() => {}));
  }

  /**
   * Tells the primary this worker is ready, when the cluster's `readiness` is `"manual"`
   * (for workers that warm caches before taking traffic).
   */
  async ready(): Promise<void> {
    await this.#write((channel) => channel.sendInternal({ cmd: "ready" }));
  }

  /**
   * Claims a sticky key for this worker (L7 `sticky` routing, see docs/scheduling.md): from
   * now on the primary hands connections whose first request carries `key` to this worker,
   * until it exits or the key goes unused for the cluster's `sticky.claimTtl`. For keys born
   * here that no hash could guess, e.g. Socket.IO's session id:
   * `io.engine.on("connection", (socket) => Cluster.worker.claim(socket.id))`.
   */
  async claim(key: string): Promise<void> {
    if (typeof key !== "string") {
      throw new TypeError(`Cannot claim: key must be a string, got ${typeof key}`);
    }
    if (key.length === 0 || key.length >= 300) {
      throw new RangeError(`Cannot claim: key must be 1 to 299 characters long, got ${key.length}`);
    }
    await this.#write((channel) => channel.sendInternal({ cmd: "claim", key }));
  }

  /**
   * Counts the requests of a server the core does not run (one started without `serve()` or
   * `listen()`, such as a runtime's own `Deno.serve` / `Bun.serve`), so that `cluster.stats()`,
   * `/metrics` and `maxRequests` recycling see them. `read` returns how many requests that
   * server has served so far (a count that only goes up); it is read with every stats report
   * and heartbeat, and a value that is not a finite number ≥ 0 counts as 0. The count stays
   * for the life of the worker.
   *
   * @example Count the requests of a Bun.serve server
   * ```ts ignore
   * import { Cluster } from "@x/cluster";
   * let served = 0;
   * Bun.serve({ port: 3000, reusePort: true, fetch: () => (served++, new Response("hi")) });
   * Cluster.worker.countRequests(() => served);
   * ```
   */
  countRequests(read: () => number): void {
    if (typeof read !== "function") {
      throw new TypeError(`Cannot count requests: read must be a function, got ${typeof read}`);
    }
    this.#requestCounters.push(read);
  }

  /** What the countRequests() readers report together. */
  #countedRequests(): number {
    let sum = 0;
    for (const read of this.#requestCounters) {
      const n = read();
      if (Number.isFinite(n) && n >= 0) sum += Math.floor(n);
    }
    return sum;
  }

  /** Sends a message (and optionally a socket or server handle) to the primary. */
  send(message: unknown, handle?: unknown): Promise<void> {
    return this.#write((channel) => channel.sendUser(message, handle));
  }

  /**
   * Writes to the primary in call order: `send()`, `ready()` and `claim()` share this path, so
   * that none overtakes an earlier one (review R10).
   */
  #write(write: (channel: Channel) => Promise<void>): Promise<void> {
    // Connected and no earlier write still waiting for the connection: straight to the channel,
    // without an await per message (issue #10). Else behind the connection, in order.
    const connection = this.#connection;
    if (connection !== undefined && this.#early === 0) {
      try {
        return write(connection.channel);
      } catch (error) {
        return Promise.reject(error); // as from the async function it was (a throwing getter)
      }
    }
    this.#early++;
    return this.#ready.then(({ channel }) => {
      this.#early--;
      return write(channel);
    }, (error) => {
      this.#early--;
      throw error;
    });
  }

  /**
   * Serves HTTP with a fetch-style handler on an address shared with the other workers.
   * Resolves once bound, with the real address. Rejects with `ClusterError` whose `code` is
   * the system code (`EADDRINUSE`, `EACCES`) if binding failed, or `UNSUPPORTED` if the
   * policy is not available on this runtime.
   */
  serve(options: ServeOptions, handler: FetchHandler): Promise<BoundServer> {
    if (typeof handler !== "function") {
      throw new TypeError(`Cannot serve: handler must be a function, got ${typeof handler}`);
    }
    return this.#servers.bind(
      this.#ready,
      options,
      "serve",
      true,
      (adapter, source) =>
        adapter.serve(source, handler, { fastResponse: options.fastResponse !== false }),
    );
  }

  /**
   * Makes a `node:net` or `node:http` server (not yet listening) serve an address shared with
   * the other workers. Resolves like {@linkcode ClusterWorker.serve}.
   */
  listen(server: unknown, options: ServeOptions): Promise<BoundServer> {
    if (typeof server !== "object" || server === null) {
      throw new TypeError("Cannot listen: pass a node:net or node:http server");
    }
    return this.#servers.bind(
      this.#ready,
      options,
      "listen",
      speaksHttp(server),
      (adapter, source) => adapter.attach(server, source),
    );
  }

  /**
   * Binds a UDP socket shared with the other workers that bind the same type and address, as
   * node:cluster shares a worker's dgram sockets: the primary binds it once and every worker
   * receives on it (each datagram reaches one of them). Rejects with `ClusterError`: the system
   * code if binding failed, `UNSUPPORTED` where the runtime cannot share UDP sockets.
   *
   * @example
   * ```ts ignore
   * const { port, socket } = await Cluster.worker.bindUdp({ type: "udp4", port: 5300 });
   * ```
   */
  bindUdp(options: UdpOptions = {}): Promise<BoundUdp> {
    return this.#servers.bindUdp(this.#ready, options);
  }

  /**
   * Stops gracefully: emits `shutdown` and aborts `signal`, closes this worker's servers
   * (in-flight requests finish, keep-alive clients are told to close), waits for `waitUntil()`
   * work, then closes its channel; then the process exits.
   */
  disconnect(): Promise<void> {
    this.#disconnecting ??= (async () => {
      const { parent } = await this.#ready;
      this.#shutdown.abort();
      this.emit("shutdown");
      await this.#servers.closeAll();
      await Promise.all(this.#tasks);
      parent.disconnect();
    })();
    return this.#disconnecting;
  }

  #connect(
    adapter: Adapter,
    token: string,
    heartbeat: number,
    signals: boolean,
    stats: number,
  ): { adapter: Adapter; parent: ParentChannel; channel: Channel } {
    // deno-lint-ignore prefer-const -- assigned after the parent channel exists
    let channel!: Channel;
    const parent = adapter.connectParent({
      message: (raw, handle) => onPrimaryMessage(this.#state, adapter, channel, token, raw, handle),
      disconnect: () => this.#onDisconnect(adapter, channel),
    });
    if (!parent) throw new TypeError("This process was started as a worker but has no IPC channel");
    this.#parent = parent;
    channel = new Channel(
      token,
      (message, handle, keepOpen) => parent.send(message, handle, keepOpen),
    );
    channel.sendInternal({ cmd: "online" }).catch(() => {});
    // SIGTERM/SIGINT (a Ctrl+C reaches the whole process group) start a graceful stop: the
    // primary drives shutdown, and in-flight requests finish.
    if (signals) this.#handleSignals(adapter);
    if (heartbeat > 0) {
      // Sent from the event loop: a worker whose loop is blocked stops sending them.
      const timer = setInterval(() => {
        const requests = this.#countedRequests() + this.#servers.liveRequests();
        channel.sendInternal({ cmd: "heartbeat", requests, rss: Math.round(adapter.rss()) })
          .catch(() => clearInterval(timer));
      }, heartbeat);
      adapter.unrefTimer(timer);
    }
    if (stats > 0) {
      const send = (message: StatsMessage) => channel.sendInternal(message);
      reportStats(adapter, stats, () => this.#figures(), this.#metrics, send);
    }
    return { adapter, parent, channel };
  }

  /** Requests served so far by every server this worker ran, and connections open now. */
  #figures(): { requests: number; connections: number | undefined } {
    const counted = this.#countedRequests();
    const { requests, connections } = this.#servers.figures();
    return { requests: requests + counted, connections };
  }

  #handleSignals(adapter: Adapter): void {
    for (const signal of ["SIGTERM", "SIGINT"]) {
      adapter.onSignal(signal, () => void this.disconnect().catch(() => {}));
    }
    // Signals that steer the primary (reload, scale) must not kill or stop a worker that got
    // them too (a terminal hangup or a signal to the process group).
    for (const signal of ["SIGHUP", "SIGTTIN", "SIGTTOU"]) {
      try {
        adapter.onSignal(signal, () => {});
      } catch {
        // Not a signal of this platform.
      }
    }
  }

  #onDisconnect(adapter: Adapter, channel: Channel): void {
    channel.close("the primary disconnected");
    this.#servers.stopLoad(); // nobody to report to
    this.emit("disconnect");
    if (this.lingerAfterDisconnect && this.#disconnecting) return;
    // No orphans: without a primary there is nobody to route to us or to supervise us.
    setTimeout(() => adapter.exit(0), 0);
  }
}

let current: ClusterWorker | undefined;

/** This process's {@linkcode ClusterWorker}, created on first use. Throws in the primary. */
export function currentWorker(): ClusterWorker {
  const hooks = runtime();
  if (hooks.role.kind !== "worker") {
    throw new TypeError("Cluster.worker exists only in a worker process: check Cluster.isWorker");
  }
  const { id, token, heartbeat, signals, stats } = hooks.role;
  current ??= new ClusterWorker(id, token, hooks.loadAdapter(), { heartbeat, signals, stats });
  return current;
}
