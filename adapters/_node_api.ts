// The adapter parts every runtime shares: all three run Node's child_process, net and http APIs,
// and those are what pass sockets and listen handles between processes (measured: fork() passes
// net.Socket and net.Server on Node 24, Deno 2.9 and Bun 1.4; Bun.spawn's ipc and Deno.Command
// cannot carry handles). `adapters/{node,deno,bun}.ts` configure it and replace what their
// runtime does better or differently.

import type { spawn, StdioOptions } from "node:child_process";
import type http from "node:http";
import type net from "node:net";
import os from "node:os";
import process from "node:process";
import type {
  Adapter,
  Capabilities,
  FetchHandler,
  HttpEndpoint,
  Listener,
  ListenOptions,
  ParentChannel,
  ParentEvents,
  ProcessEvents,
  ProcessHandle,
  ProcessMonitor,
  ServeEngineOptions,
  ServeSource,
  SpawnOptions,
  SystemdChannel,
  UdpBindOptions,
  WorkerServer,
} from "../src/types.ts";
import { ClusterError } from "../src/errors.ts";
import type { HeadReader, PeerReader } from "../src/scheduler_types.ts";
import { readHead } from "./_head_reader.ts";
import { watchAccepts } from "./_accept_watch.ts";
import {
  isRawConnection,
  peerOf,
  releaseConnection,
  socketOf,
  takeRawConnections,
} from "./_raw_connections.ts";
import { addressOf, bindablePath, loopbackFor } from "./_address.ts";
import { builtin } from "./_builtins.ts";
import { IpcEndpoint, type IpcTarget } from "./_ipc.ts";
import { attachServer } from "./_http_server.ts";
import { serveHttp } from "./_metrics_server.ts";
import { adoptUdp, bindUdp, openUdp } from "./_udp.ts";

/** Marks the listeners the adapter adds to `process` for the worker's IPC channel. */
export const CORE_LISTENER: unique symbol = Symbol.for("@x/cluster.core-listener");

/** What a runtime file gives the shared implementation. */
export interface NodeApiConfig {
  runtime: string;
  version: string;
  capabilities: Capabilities;
  /** The executable and arguments that run `exec` as a worker. */
  command(options: SpawnOptions): { file: string; args: string[] };
  mainModule(): string | undefined;
  inheritedExecArgv(): string[];
  /** This runtime's process monitor (`adapters/_metrics_process.ts`). */
  monitor(): ProcessMonitor;
  /** This runtime's way to systemd's notification socket (`adapters/_sd_notify.ts`). */
  systemd(): Promise<SystemdChannel | undefined>;
}

/** Builds an adapter on Node's APIs. */
export class NodeApiAdapter implements Adapter {
  readonly runtime: string;
  readonly version: string;
  readonly capabilities: Capabilities;
  #config: NodeApiConfig;

  constructor(config: NodeApiConfig) {
    this.runtime = config.runtime;
    this.version = config.version;
    this.capabilities = config.capabilities;
    this.#config = config;
  }

  getEnv(name: string): string | undefined {
    return process.env[name];
  }

  envObject(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined) env[key] = value;
    }
    return env;
  }

  mainModule(): string | undefined {
    return this.#config.mainModule();
  }

  inheritedExecArgv(): string[] {
    return this.#config.inheritedExecArgv();
  }

  inheritedArgs(): string[] {
    // argv[0] is the runtime, argv[1] the main module on all three (Deno's too).
    return process.argv.slice(2);
  }

  availableParallelism(): number {
    return typeof os.availableParallelism === "function"
      ? os.availableParallelism()
      : os.cpus().length;
  }

  exit(code: number): void {
    process.exit(code);
  }

  onSignal(signal: string, handler: () => void): () => void {
    const name = signal as NodeJS.Signals;
    process.on(name, handler);
    return () => void process.off(name, handler);
  }

  rss(): number {
    return process.memoryUsage.rss();
  }

  unrefTimer(timer: ReturnType<typeof setTimeout>): void {
    (timer as { unref?: () => void }).unref?.();
  }

  monitor(): ProcessMonitor {
    return this.#config.monitor();
  }

  serveHttp(options: ListenOptions, handler: FetchHandler): Promise<HttpEndpoint> {
    return serveHttp(options, handler);
  }

  systemd(): Promise<SystemdChannel | undefined> {
    return this.#config.systemd();
  }

  spawn(options: SpawnOptions, events: ProcessEvents): ProcessHandle {
    const exec = options.exec.startsWith("file:")
      ? builtin("node:url").fileURLToPath(options.exec)
      : options.exec;
    const { file, args } = this.#config.command({ ...options, exec });
    // By default stderr is piped: the core keeps its tail to say why a worker failed; unless
    // `silent`, it is passed on to ours. An explicit `stdio` is used as given.
    const out = options.silent ? "pipe" : "inherit";
    const stdio = options.stdio === undefined
      ? [out, out, "pipe", "ipc"]
      : typeof options.stdio === "string"
      ? [options.stdio, options.stdio, options.stdio, "ipc"]
      : [...options.stdio];
    const forward = options.stdio === undefined && !options.silent;
    let disconnected = false, exited = false;
    const disconnect = () => {
      if (!disconnected) {
        disconnected = true;
        events.disconnect();
      }
    };
    const exit = (code: number | null, signal: string | null) => {
      if (exited) return;
      exited = true;
      disconnect();
      events.exit(code, signal);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = builtin("node:child_process").spawn(file, args, {
        // The worker's end checks values for the same serialization (see _sendable.ts).
        env: { ...options.env, [ENV_SERIALIZATION]: options.serialization },
        cwd: options.cwd,
        stdio: stdio as StdioOptions,
        uid: options.uid,
        gid: options.gid,
        serialization: options.serialization,
      });
    } catch (error) {
      queueMicrotask(() => {
        events.error(error as Error);
        exit(1, null);
      });
      return {
        pid: undefined,
        connected: false,
        send: () => closed(),
        disconnect() {},
        kill: () => false,
      };
    }
    // Any failure of a spawned worker's channel is fatal for that worker: it leaves the
    // rotation at once (disconnect), which makes it exit, and is killed if it has not within
    // FAULT_KILL_MS; the supervisor replaces it.
    let faulted = false, closing = false;
    const fault = (error: Error) => {
      if (faulted || exited) return;
      faulted = true;
      events.error(error);
      if (child.connected) child.disconnect();
      else disconnect();
      const timer = setTimeout(() => {
        try {
          if (!exited) process.kill(child.pid!, "SIGKILL");
        } catch {
          // It exited meanwhile.
        }
      }, FAULT_KILL_MS);
      timer.unref?.();
    };
    const endpoint = new IpcEndpoint(child, this.runtime, options.serialization, {
      message: (message, handle) => events.message(message, handle),
      fault,
    });
    let unannounced = false;
    child.on("disconnect", () => {
      unannounced = !closing && !endpoint.peerClosing;
      disconnect();
    });
    child.on("exit", (code, signal) => {
      // Bun closes a channel that carried bytes it cannot parse and says nothing; the trace
      // left is a channel neither side closed, of a worker that then exited cleanly.
      if (this.runtime === "bun" && unannounced && !faulted && code === 0 && !signal) {
        events.error(silentlyClosed());
      }
      exit(code, signal);
    });
    child.on("error", (error) => {
      if (child.pid === undefined) {
        events.error(error);
        exit(1, null);
      } else {
        fault(channelFailed(error));
      }
    });
    // Decoded here, not with setEncoding(): the stream stays the user's (Worker.process), and
    // node:child_process gives Buffers.
    const decoder = new TextDecoder();
    child.stderr?.on("data", (chunk: Uint8Array) => {
      if (forward) process.stderr.write(chunk);
      events.stderr?.(decoder.decode(chunk, { stream: true }));
    });
    child.stdout?.resume();
    return {
      get pid() {
        return child.pid;
      },
      process: child,
      get connected() {
        return child.connected;
      },
      send: (message, handle, keepOpen, receipt) =>
        endpoint.send(message, handle, keepOpen, receipt),
      disconnect() {
        closing = true;
        if (child.connected) child.disconnect();
      },
      // process.kill on the pid, and our own `exited`: Deno's ChildProcess.kill() sends
      // nothing once it sent one signal, so a SIGKILL after an ignored SIGTERM would be lost.
      kill: (signal) => {
        if (exited || child.pid === undefined) return false;
        try {
          process.kill(child.pid, (signal ?? "SIGTERM") as NodeJS.Signals);
          return true;
        } catch {
          return false;
        }
      },
    };
  }

  listen(options: ListenOptions, onConnection: (connection: unknown) => void): Promise<Listener> {
    if (options.ipv6Only && this.runtime === "deno") {
      // Measured on Deno 2.9.6: its node:net binds `::` dual-stack whatever ipv6Only says.
      return Promise.reject(
        new ClusterError(
          "UNSUPPORTED",
          `ipv6Only is not supported on deno ${this.version}: its node:net ignores it and would ` +
            "take IPv4 too; listen on a specific IPv6 address instead",
        ),
      );
    }
    const server = builtin("node:net").createServer({ pauseOnConnect: true }, onConnection);
    const { path } = options;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(
        path !== undefined ? { path: bindablePath(path), backlog: options.backlog } : {
          host: options.hostname,
          port: options.port,
          backlog: options.backlog,
          ipv6Only: options.ipv6Only === true,
        },
        () => {
          server.off("error", reject);
          watchAccepts(server, this.runtime, options.backlog); // Deno stops at EMFILE
          // Node: raw handles, as node:cluster's round-robin (adapters/_raw_connections.ts);
          // a pipe's keep the public path (child_process sends those as net.Socket).
          if (path === undefined) takeRawConnections(server, this.runtime, onConnection);
          resolve(listenerOf(server));
        },
      );
    });
  }

  adopt(handle: unknown): Listener {
    const server = handle as net.Server;
    const address = addressOf(server);
    // The runtime listens on a received socket at once. Connections accepted here may have sent
    // bytes already (handing such a socket over would lose them), so once our copy is closed
    // each is relayed, data and all, to the same address, where a worker accepts it.
    const waiting: net.Socket[] = [];
    let closed = false;
    const relay = (socket: net.Socket) => {
      const upstream = builtin("node:net").connect({
        host: loopbackFor(address.hostname),
        port: address.port,
      });
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on("error", end).pipe(upstream).on("error", end).pipe(socket);
    };
    server.on("connection", (socket: net.Socket) => {
      socket.pause();
      if (closed) relay(socket);
      else waiting.push(socket);
    });
    return {
      address,
      handle: server,
      close: () => {
        closed = true;
        if (server.listening) server.close();
        for (const socket of waiting.splice(0)) relay(socket);
        return Promise.resolve();
      },
      release: (connection) => (connection as net.Socket).destroy(),
    };
  }

  connectParent(events: ParentEvents): ParentChannel | undefined {
    if (typeof process.send !== "function") return undefined;
    const serialization = process.env[ENV_SERIALIZATION] === "advanced" ? "advanced" : "json";
    delete process.env[ENV_SERIALIZATION];
    const endpoint = new IpcEndpoint(process as IpcTarget, this.runtime, serialization, {
      message: (message, handle) => events.message(message, handle),
      fault: () => endpoint.close(),
      // Marked, so that a layer which wraps user listeners (compat.ts) can tell ours apart.
      mark: CORE_LISTENER,
      announce: true,
    });
    process.once("disconnect", () => events.disconnect());
    // Deno reports a channel that failed (it read something it cannot parse) as an `error`
    // event on process, which would otherwise crash the worker: the channel is closed instead.
    // Only there: on Node and Bun a process `error` is the program's (node:cluster passes it
    // on to cluster.worker), and a failed channel says so with `disconnect`.
    if (this.runtime === "deno") {
      process.on("error" as never, () => {
        if (process.connected) process.disconnect?.();
      });
    }
    return {
      get connected() {
        return process.connected === true;
      },
      send: (message, handle, keepOpen) => endpoint.send(message, handle, keepOpen),
      disconnect: () => endpoint.close(),
    };
  }

  // Deno's and Bun's adapters call this without options when they fall back to node:http: their
  // Response is read without undici's cost, and Bun.serve/Deno.serve elsewhere in the process
  // need the runtime's own class, so only Node replaces it.
  // The fetch bridge is imported once the server is attached and one timer turn later, behind
  // the `listening` message the core sends when serve() settles: its Request and Response load
  // Node's undici (20–28 ms on Node 24), which a primary never needs and which delayed a
  // worker's `listening` by as much when the import ran during the query (issue #10, startup).
  // No request is answered later for it: the load happens when it did before, or sooner than
  // the worker would have said it listens. The server is attached in this same turn: on Bun an
  // await before attach() made strictReloads drop 1–5 requests per run of
  // tests/reload_modes_test.ts (tcp_migrate_req=0). Requests that come first wait for the
  // bridge (a failed import destroys them). serve() does not wait for it: a slower serve() made
  // Bun's "shared" port-0 workers get different ports (tests/port_sharing_test.ts, 1–2 of 11
  // failed in half the runs; a race in the broker?).
  serve(
    source: ServeSource,
    handler: FetchHandler,
    options: ServeEngineOptions = { fastResponse: false },
  ): Promise<WorkerServer> {
    // node:http at first use, synchronously: Bun loads it in 10 ms and Deno in 3–11, which a
    // worker on Bun.serve or Deno.serve never needs. Node before 20.16 and 22.3 has no
    // getBuiltinModule(): there the import comes first.
    const builtin = (process as { getBuiltinModule?(id: string): unknown }).getBuiltinModule;
    const loaded = builtin?.("node:http") as typeof http | undefined;
    if (loaded) return this.#serveHttp(loaded, source, handler, options);
    return import("node:http").then((m) => this.#serveHttp(m.default, source, handler, options));
  }

  #serveHttp(
    http: typeof import("node:http"),
    source: ServeSource,
    handler: FetchHandler,
    options: ServeEngineOptions,
  ): Promise<WorkerServer> {
    const load = () =>
      Promise.all([import("./_fast_response.ts"), import("./_fetch_bridge.ts")])
        .then(([{ installFastResponse }, { fetchListener }]) => {
          if (options.fastResponse && this.runtime === "node") installFastResponse();
          return fetchListener(handler);
        }).catch((error) => {
          // Every request is then refused (destroyed below): say why once.
          console.error("[@x/cluster] serve(): the fetch bridge failed to load:", error);
          throw error;
        });
    type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;
    let listener: RequestListener | undefined;
    const server = this.attach(
      http.createServer((req, res) => {
        if (listener) return listener(req, res);
        bridge.then((loaded) => loaded(req, res), () => res.destroy());
      }),
      source,
    );
    // Rejects as the server does when it could not be attached (serve() rejects with that).
    // Requests reach the handler above only on a later turn, so it is set by then.
    const bridge = server.then(() => new Promise<void>((resolve) => setTimeout(resolve, 0)))
      .then(load);
    bridge.then((loaded) => (listener = loaded), () => {});
    return server;
  }

  attach(server: unknown, source: ServeSource): Promise<WorkerServer> {
    // Duck-typed: Bun's http.Server is not an instance of its net.Server.
    const s = server as Partial<net.Server>;
    if (typeof s.listen !== "function" || typeof s.emit !== "function") {
      return Promise.reject(
        new TypeError("Cannot listen: expected a node:net or node:http server"),
      );
    }
    return attachServer(server as net.Server, source);
  }

  bindUdp(options: UdpBindOptions): Promise<Listener> {
    return bindUdp(options);
  }

  adoptUdp(handle: unknown): Listener {
    return adoptUdp(handle);
  }

  openUdp(handle: unknown): WorkerServer {
    return openUdp(handle);
  }

  discard(handle: unknown): void {
    const { Socket, Server } = builtin("node:net");
    if (handle instanceof builtin("node:dgram").Socket) handle.close();
    else if (handle instanceof Socket) handle.destroy();
    else if (handle instanceof Server) handle.close();
    else if (isRawConnection(handle)) releaseConnection(handle);
  }
}

/** How long a worker whose channel failed may take to exit by itself before SIGKILL. */
const FAULT_KILL_MS = 1000;

/** Names the serialization of a worker's channel for its end (read and removed there). */
const ENV_SERIALIZATION = "XCLUSTER_SERIALIZATION";

function channelFailed(error: Error): ClusterError {
  return new ClusterError(
    "BAD_MESSAGE",
    `The worker's IPC channel failed (${error.message}); the worker is stopped`,
    { cause: error },
  );
}

function silentlyClosed(): ClusterError {
  return new ClusterError(
    "BAD_MESSAGE",
    "The worker's IPC channel closed without a disconnect from either side and the worker " +
      "then exited with code 0: something in it wrote data that is not a message to the " +
      "channel (Bun then closes the channel silently), or it called process.exit() itself",
  );
}

function closed(): Promise<void> {
  return Promise.reject(new Error("The worker process could not be spawned"));
}

/**
 * The descriptors this process can still open for waiting connections, from Linux's /proc
 * (soft limit minus open descriptors, less an eighth kept for everything else); `undefined`
 * elsewhere or without permission to read /proc (Deno without --allow-read).
 */
function descriptorBudget(): number | undefined {
  try {
    const limits = builtin("node:fs").readFileSync("/proc/self/limits", "utf8");
    const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]);
    if (!Number.isFinite(soft)) return undefined;
    const open = builtin("node:fs").readdirSync("/proc/self/fd").length;
    return Math.max(64, soft - open - Math.max(64, Math.floor(soft / 8)));
  } catch {
    return undefined;
  }
}

function listenerOf(server: net.Server): Listener & PeerReader & HeadReader {
  const address = addressOf(server);
  return {
    address,
    handle: server,
    capacity: descriptorBudget(),
    // Resolves once the listen socket is closed, not when its connections are: Node's
    // net.Server.close() callback waits until every worker closed the sockets it was sent,
    // which only happens after the workers were told to stop.
    close: () => {
      if (server.listening) server.close();
      return Promise.resolve();
    },
    release: releaseConnection,
    remote: peerOf,
    readHead: (connection, limits) => readHead(socketOf(connection, true), limits),
  };
}
