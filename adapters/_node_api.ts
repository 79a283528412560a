// The adapter parts every runtime shares: all three run Node's child_process, net and http APIs,
// and those are what pass sockets and listen handles between processes (measured: fork() passes
// net.Socket and net.Server on Node 24, Deno 2.9 and Bun 1.4; Bun.spawn's ipc and Deno.Command
// cannot carry handles). `adapters/{node,deno,bun}.ts` configure it and replace what their
// runtime does better or differently.

import { spawn, type StdioOptions } from "node:child_process";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type {
  Adapter,
  Capabilities,
  FetchHandler,
  Listener,
  ListenOptions,
  ParentChannel,
  ParentEvents,
  ProcessEvents,
  ProcessHandle,
  ServeSource,
  SpawnOptions,
  WorkerServer,
} from "../src/types.ts";
import { addressOf, loopbackFor } from "./_address.ts";
import { fetchListener } from "./_fetch_bridge.ts";
import { attachServer } from "./_http_server.ts";

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

  spawn(options: SpawnOptions, events: ProcessEvents): ProcessHandle {
    const exec = options.exec.startsWith("file:") ? fileURLToPath(options.exec) : options.exec;
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
      child = spawn(file, args, {
        env: options.env,
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
    child.on("message", (message, handle) => events.message(message, handle));
    child.on("disconnect", disconnect);
    child.on("exit", (code, signal) => exit(code, signal));
    child.on("error", (error) => {
      events.error(error);
      if (child.pid === undefined) exit(1, null);
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      if (forward) process.stderr.write(chunk);
      events.stderr?.(chunk);
    });
    child.stdout?.resume();
    return {
      get pid() {
        return child.pid;
      },
      get connected() {
        return child.connected;
      },
      send: (message, handle, keepOpen) => sendOn(child, message, handle, keepOpen),
      disconnect() {
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
    const server = net.createServer({ pauseOnConnect: true }, onConnection);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(
        { host: options.hostname, port: options.port, backlog: options.backlog },
        () => {
          server.off("error", reject);
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
      const upstream = net.connect({ host: loopbackFor(address.hostname), port: address.port });
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
    // Marked, so that a layer which wraps user listeners (compat.ts) can tell ours apart.
    const onMessage = Object.assign(
      (message: unknown, handle: unknown) => events.message(message, handle),
      { [CORE_LISTENER]: true },
    );
    process.on("message", onMessage);
    process.once("disconnect", () => events.disconnect());
    return {
      get connected() {
        return process.connected === true;
      },
      send: (message, handle, keepOpen) => sendOn(process, message, handle, keepOpen),
      disconnect() {
        if (process.connected) process.disconnect?.();
      },
    };
  }

  serve(source: ServeSource, handler: FetchHandler): Promise<WorkerServer> {
    return this.attach(http.createServer(fetchListener(handler)), source);
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

  discard(handle: unknown): void {
    if (handle instanceof net.Socket) handle.destroy();
    else if (handle instanceof net.Server) handle.close();
  }
}

type Sender = {
  send?: (
    message: never,
    handle: net.Socket,
    options: { keepOpen: boolean },
    cb: (e: Error | null) => void,
  ) => unknown;
};

function sendOn(target: Sender, message: unknown, handle: unknown, keepOpen: boolean) {
  // A socket sent without keepOpen is closed here once the send completed, not by the runtime:
  // Deno may close it before its descriptor was written (the worker then gets no handle).
  const socket = !keepOpen && handle instanceof net.Socket ? handle : undefined;
  return new Promise<void>((resolve, reject) => {
    try {
      const done = (error: Error | null) => {
        socket?.destroy();
        if (error) reject(error);
        else resolve();
      };
      if (!target.send) return reject(new Error("No IPC channel"));
      target.send(message as never, handle as net.Socket, { keepOpen: keepOpen || !!socket }, done);
    } catch (error) {
      reject(error);
    }
  });
}

function closed(): Promise<void> {
  return Promise.reject(new Error("The worker process could not be spawned"));
}

function listenerOf(server: net.Server): Listener {
  const address = addressOf(server);
  return {
    address,
    handle: server,
    // Resolves once the listen socket is closed, not when its connections are: Node's
    // net.Server.close() callback waits until every worker closed the sockets it was sent,
    // which only happens after the workers were told to stop.
    close: () => {
      if (server.listening) server.close();
      return Promise.resolve();
    },
    release: (connection) => (connection as net.Socket).destroy(),
  };
}
