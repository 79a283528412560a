/**
 * The servers one worker runs: Node's `_getServer` in lib/internal/cluster/child.js. For each
 * address given to `serve()`, `listen()` or `bindUdp()` it asks the primary where connections
 * come from (`queryServer`), starts the server on that source, tells the primary it listens, and
 * keeps it until it closes. `src/child.ts` keeps the worker's API and its link to the primary.
 *
 * @module
 */

import type { Channel } from "./_channel.ts";
import { LoadReporter } from "./_load_reporter.ts";
import { ClusterError } from "./errors.ts";
import {
  CONTROL_CHARS,
  LOAD_INTERVAL,
  MAX_LOSS_TEXT,
  type QueryMessage,
  type QueryResult,
} from "./protocol.ts";
import type { Adapter, Address, ServerEngine, ServeSource, WorkerServer } from "./types.ts";
import { type BoundUdp, type UdpOptions, validateUdpOptions } from "./_udp.ts";
import { type ServeOptions, validateServeOptions } from "./serve_options.ts";

/** The address a server is bound to, which server runs it, and how to close it. */
export interface BoundServer extends Address {
  /**
   * The server that runs the handler: the runtime's own (`"Deno.serve"`, `"Bun.serve"`) or
   * `"node:http"` (`"node:net"` for a plain TCP server given to `listen()`).
   */
  engine: ServerEngine;
  /**
   * Why `serve()` does not run on Deno.serve or Bun.serve there (a missing flag, a policy or
   * `strictReloads` that needs a socket those cannot lend or adopt); `undefined` otherwise.
   */
  engineReason: string | undefined;
  /** Stops serving this address in this worker (in-flight requests finish). */
  close(): Promise<void>;
}

/** The worker's link to its primary, as the servers use it. */
type Link = { adapter: Adapter; channel: Channel };

/** Starts the server of one address on the source the primary chose. */
type Start = (adapter: Adapter, source: ServeSource) => Promise<WorkerServer>;

/** What `bindUdp()` adds to a query: the socket type, and an fd or reuseAddr. */
type UdpQuery = Partial<Pick<QueryMessage, "udp" | "fd" | "reuseAddr">>;

/**
 * The servers of one worker, by query key, and the binding of new ones through the primary.
 *
 * @example
 * ```ts ignore
 * const servers = new WorkerServers(id, () => parent.connected);
 * const bound = await servers.bind(ready, { port: 8000 }, "serve", true, start);
 * await servers.closeAll(); // disconnect: in-flight requests finish
 * ```
 */
export class WorkerServers {
  #id: number;
  #connected: () => boolean;
  /** Port-0 servers opened so far, per policy and host (for the query's `index`). */
  #zeroPortServers = new Map<string, number>();
  #servers = new Map<string, WorkerServer>();
  /** Servers being started, by key, until they are in `#servers` (or failed: `undefined`). */
  #starting = new Map<string, Promise<WorkerServer | undefined>>();
  /** Requests served by servers this worker closed (stats count every server it ran). */
  #closedRequests = 0;
  /** Reports round-robin servers' open connections; created with the first one. */
  #load: LoadReporter | undefined;

  /** `id` names the worker in errors; `connected` says whether its channel is still open. */
  constructor(id: number, connected: () => boolean) {
    this.#id = id;
    this.#connected = connected;
  }

  /** The running servers, by query key. */
  get byKey(): ReadonlyMap<string, WorkerServer> {
    return this.#servers;
  }

  /** Servers being started, by key, until they are in `byKey` (or failed: `undefined`). */
  get starting(): ReadonlyMap<string, Promise<WorkerServer | undefined>> {
    return this.#starting;
  }

  /** The round-robin load reporter, once the worker has a round-robin server. */
  get load(): LoadReporter | undefined {
    return this.#load;
  }

  /** Requests served so far by the running servers. */
  liveRequests(): number {
    let requests = 0;
    for (const server of this.#servers.values()) requests += server.requests;
    return requests;
  }

  /** Requests served so far by every server this worker ran, and connections open now. */
  figures(): { requests: number; connections: number | undefined } {
    let requests = this.#closedRequests;
    let connections: number | undefined = 0;
    for (const server of this.#servers.values()) {
      requests += server.requests;
      // Unknown for one server (a runtime's own): unknown for the worker.
      const open = server.connections;
      connections = open === undefined || connections === undefined
        ? undefined
        : connections + open;
    }
    return { requests, connections };
  }

  /** Closes every server (in-flight requests finish) and forgets them. */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.#servers.values()].map((server) => server.close()));
    for (const server of this.#servers.values()) this.#closedRequests += server.requests;
    this.#servers.clear();
  }

  /** The primary disconnected: load reports stop, there is nobody to send them to. */
  stopLoad(): void {
    this.#load?.stop();
  }

  /**
   * Binds a UDP socket through the primary (see `ClusterWorker.bindUdp()`): the primary binds
   * it once and sends it to each worker that binds the same type and address.
   */
  async bindUdp(ready: Promise<Link>, options: UdpOptions): Promise<BoundUdp> {
    validateUdpOptions(options);
    const { type = "udp4", ipv6Only, reuseAddr, fd, ...rest } = options;
    const query = {
      udp: type,
      ...(fd === undefined ? {} : { fd }),
      ...(reuseAddr ? { reuseAddr } : {}),
    };
    let socket: unknown;
    const open = (adapter: Adapter, source: ServeSource): Promise<WorkerServer> => {
      if (!adapter.openUdp || source.kind !== "handle") {
        if (source.kind === "handle") adapter.discard(source.handle);
        throw new ClusterError("UNSUPPORTED", `${adapter.runtime} cannot receive UDP sockets`);
      }
      const server = adapter.openUdp(source.handle);
      socket = server.listenHandle;
      return Promise.resolve(server);
    };
    const bound = await this.bind(
      ready,
      { ...rest, ...(ipv6Only ? { ipv6Only } : {}) },
      "listen",
      false,
      open,
      query,
    );
    const { hostname, port, family, close } = bound;
    // A UDP query never names a path, so its address is never a Unix socket's.
    return { hostname, port, family: family === "IPv6" ? "IPv6" : "IPv4", socket, close };
  }

  /**
   * Asks the primary where to get connections for `options`' address, starts the server there
   * with `start`, and tells the primary it listens. `http`: the server speaks plain HTTP/1
   * (the primary may read request heads, for `sticky`).
   */
  async bind(
    ready: Promise<Link>,
    options: ServeOptions,
    api: "serve" | "listen",
    http: boolean,
    start: Start,
    udp?: UdpQuery,
  ): Promise<BoundServer> {
    validateServeOptions(options);
    const { adapter, channel } = await ready;
    let index = 0;
    if ((options.port ?? 0) === 0 && options.path === undefined) {
      const zero = `${udp?.udp ?? ""}|${options.policy ?? ""}|${options.hostname ?? ""}`;
      index = this.#zeroPortServers.get(zero) ?? 0;
      this.#zeroPortServers.set(zero, index + 1);
    }
    const { reply, handle } = await channel.request((seq) => ({
      cmd: "query",
      seq,
      hostname: options.hostname ?? null,
      port: options.port ?? 0,
      policy: options.policy ?? null,
      backlog: options.backlog ?? null,
      index,
      scheduler: options.scheduler ?? null,
      ...(options.ipv6Only ? { ipv6Only: true } : {}),
      ...(options.path === undefined ? {} : { path: options.path }),
      ...(http ? { http: true } : {}),
      ...udp,
      // The primary's default policy depends on it: "reuse-port" for serve() where the runtime
      // has it (each worker runs the runtime's fastest server), "round-robin" for listen().
      api,
    })).catch((error) => {
      // The primary is gone: this worker exits in a moment (no orphans). Settling would only
      // turn a quiet exit into an unhandled rejection in the caller's startup code.
      if (!this.#connected() || channelGone(error)) return new Promise<never>(() => {});
      throw error;
    });
    const result = (reply as { result: QueryResult }).result;
    if (!result.ok) {
      if (handle !== undefined) adapter.discard(handle);
      throw new ClusterError(result.code as ClusterError["code"], result.message);
    }
    const { key } = result;
    if (this.#servers.has(key)) {
      if (handle !== undefined) adapter.discard(handle);
      throw new ClusterError("EADDRINUSE", `This worker already serves ${describe(result)}`);
    }
    let server: WorkerServer;
    const starting = start(adapter, sourceOf(result, handle, options));
    // A lend the primary asks for meanwhile (the next worker joins a shared socket) waits for
    // this server instead of being refused, which made the primary bind a second socket
    // (EADDRINUSE on a fixed port, another port for port 0).
    this.#starting.set(key, starting.catch(() => undefined));
    try {
      server = await starting;
    } catch (error) {
      this.#starting.delete(key);
      channel.sendInternal({ cmd: "close", key }).catch(() => {});
      const code = (error as { code?: unknown })?.code;
      throw new ClusterError(
        typeof code === "string" && code.startsWith("E") ? code as `E${string}` : "EUNKNOWN",
        `Worker ${this.#id} could not serve ${describe(result)}: ${(error as Error)?.message}`,
        { cause: error },
      );
    }
    this.#servers.set(key, server);
    this.#starting.delete(key);
    if (result.policy === "round-robin") this.#watchLoad(adapter, channel, key);
    const address: Address = server.address ??
      (result.path !== undefined ? { hostname: result.path, port: -1, family: "unix" } : {
        hostname: result.hostname ?? "0.0.0.0",
        port: result.port,
        family: result.hostname?.includes(":") ? "IPv6" : "IPv4",
      });
    const { engine, engineReason } = server;
    const lossOnClose = printable(server.lossOnClose);
    await channel.sendInternal({
      cmd: "listening",
      key,
      address,
      ...(lossOnClose === undefined ? {} : { lossOnClose }),
    });
    return {
      ...address,
      engine,
      engineReason,
      close: async () => {
        if (this.#servers.get(key) !== server) return;
        this.#servers.delete(key);
        this.#load?.forget(key);
        await server.close();
        this.#closedRequests += server.requests;
        await channel.sendInternal({ cmd: "close", key }).catch(() => {});
      },
    };
  }

  /** Reports the open connections of round-robin `key` to the primary (src/_load_reporter.ts). */
  #watchLoad(adapter: Adapter, channel: Channel, key: string): void {
    this.#load ??= new LoadReporter({
      connections: (k) => this.#servers.get(k)?.connections,
      send: (k, active) =>
        void channel.sendInternal({ cmd: "load", key: k, active }).catch(() => {}),
      unref: (timer) => adapter.unrefTimer(timer),
      interval: LOAD_INTERVAL,
    });
    this.#load.watch(key);
  }
}

/**
 * Whether a server given to `listen()` speaks plain HTTP/1, so that the primary may read its
 * request heads (`sticky`): a node:http server (it has `closeIdleConnections`, as
 * adapters/_http_server.ts checks), not a net or TLS one (https has `addContext`), whose
 * protocol may have the server speak first.
 *
 * @example
 * ```ts ignore
 * await servers.bind(ready, options, "listen", speaksHttp(server), start);
 * ```
 */
export function speaksHttp(server: object): boolean {
  const s = server as { closeIdleConnections?: unknown; addContext?: unknown };
  return typeof s.closeIdleConnections === "function" && typeof s.addContext !== "function";
}

function sourceOf(
  result: QueryResult & { ok: true },
  handle: unknown,
  o: ServeOptions,
): ServeSource {
  switch (result.policy) {
    case "round-robin":
      return { kind: "connections" };
    case "shared":
      return { kind: "handle", handle };
    case "reuse-port":
      // With a handle, this worker inherits its predecessor's SO_REUSEPORT socket (reload).
      if (handle !== undefined) return { kind: "handle", handle };
      return {
        kind: "reuse-port",
        hostname: result.hostname ?? undefined,
        port: result.port,
        backlog: o.backlog,
        lendable: result.strict === true,
      };
  }
}

/** Whether `error` says the channel to the primary is gone. */
function channelGone(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === "CHANNEL_CLOSED" || code === "EPIPE" || code === "ECONNRESET" ||
    code === "ERR_IPC_CHANNEL_CLOSED";
}

function describe(result: { hostname: string | null; port: number; path?: string }): string {
  return result.path ?? `${result.hostname ?? "*"}:${result.port}`;
}

/**
 * A server's `lossOnClose` as the protocol carries it (one line, at most MAX_LOSS_TEXT): an
 * adapter's text past that would otherwise make the primary refuse the whole `listening`.
 */
function printable(text: string | undefined): string | undefined {
  const line = text?.replace(CONTROL_CHARS, " ").trim().slice(0, MAX_LOSS_TEXT);
  return line ? line : undefined;
}
