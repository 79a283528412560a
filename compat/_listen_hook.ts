// Ports listenInCluster() of lib/net.js and _getServer() of lib/internal/cluster/child.js: in a
// worker, `server.listen(port, host, backlog, cb)` on a node:net or node:http server asks the
// primary through `Cluster.worker.listen()` instead of binding (the server then gets what Node's
// faux handle gives it: _faux_handle.ts). Pipes (Unix sockets) are shared through the primary
// too, their relative paths resolved against the worker's working directory as Node's child.js
// resolves them. `exclusive: true`, `reusePort: true` and handles bind alone, as in Node; an
// exclusive pipe is closed on disconnect as Node closes the handles it got from the primary.
// Installed only in workers, when compat is loaded.

import dgram from "node:dgram";
import http from "node:http";
import net from "node:net";
import nodePath from "node:path";
import process from "node:process";
import type { ClusterWorker } from "../mod.ts";
import { bindShared, receivedSockets } from "./_dgram.ts";
import { FauxHandles } from "./_faux_handle.ts";

// deno-lint-ignore no-explicit-any
type Listen = (this: net.Server, ...args: any[]) => net.Server;

/** Set on a server while our core attaches it: its own listen() calls bind for real. */
const ROUTED = Symbol("@x/cluster/compat.routed");

interface Request {
  /** A Unix socket path, absolute (then `port` is -1). */
  path?: string;
  port: number;
  host: string | undefined;
  backlog: number | undefined;
  ipv6Only: boolean;
  callback: (() => void) | undefined;
}

/** Patches `listen` of net.Server (and http.Server where it differs, as on Bun). */
export function installListenHook(worker: ClusterWorker): void {
  const handles = new FauxHandles(worker);
  const prototypes = new Set([net.Server.prototype, http.Server.prototype]);
  for (const proto of prototypes) {
    const original = proto.listen as Listen;
    if (Object.hasOwn(original, ROUTED)) continue;
    const hooked: Listen = function (this: net.Server, ...args: unknown[]) {
      const server = this as net.Server & { [ROUTED]?: boolean };
      const request = server[ROUTED] ? undefined : parse([...args]);
      if (!request) return original.apply(server, args);
      server[ROUTED] = true;
      if (request.callback) server.once("listening", request.callback);
      const { path, backlog } = request;
      worker.listen(
        server,
        path !== undefined ? { path, backlog } : {
          port: request.port,
          hostname: request.host,
          backlog,
          ...(request.ipv6Only ? { ipv6Only: true } : {}),
        },
      ).then(
        (bound) => handles.adopt(server, bound),
        (error) => {
          server[ROUTED] = false;
          // The worker is leaving (its channel closed): Node's listen() never completes then.
          if (error?.code === "CHANNEL_CLOSED") return;
          Object.assign(error, {
            syscall: "listen",
            address: path ?? request.host ?? "::",
            port: request.port,
          });
          // From a tick of its own, as Node's listenInCluster() emits it: without an `error`
          // listener it is an uncaught exception, not an unhandled rejection.
          process.nextTick(() => server.emit("error", error));
        },
      );
      return server;
    };
    Object.defineProperty(hooked, ROUTED, { value: original });
    proto.listen = hooked as typeof proto.listen;
  }
  // A worker's UDP sockets share their address through the primary (_dgram.ts), as Node's;
  // those that bind alone (a `bind({ fd })` Node rejects, `exclusive`) are closed on
  // disconnect unless exclusive, as Node closes the handles its workers got from the primary.
  const bind = dgram.Socket.prototype.bind as unknown as (...args: unknown[]) => dgram.Socket;
  if (!Object.hasOwn(bind, ROUTED)) {
    const received = receivedSockets(worker);
    const hookedBind = function (this: dgram.Socket, ...args: unknown[]) {
      if (bindShared(worker, this, args)) return this;
      const first = args[0] as { exclusive?: unknown } | null | undefined;
      const plain = typeof first !== "object" || first === null ||
        Object.getPrototypeOf(first) === Object.prototype;
      // A socket child_process binds to a received handle is the core's (closed by it).
      if (!plain) received(this);
      else if (!first?.exclusive) handles.trackSocket(this);
      return bind.apply(this, args);
    };
    Object.defineProperty(hookedBind, ROUTED, { value: bind });
    dgram.Socket.prototype.bind = hookedBind as typeof dgram.Socket.prototype.bind;
  }
}

/** Node's normalizeArgs for the calls we share; `undefined` means "bind alone". */
function parse(args: unknown[]): Request | undefined {
  const callback = typeof args[args.length - 1] === "function"
    ? args.pop() as () => void
    : undefined;
  const first = args[0];
  if (first !== null && typeof first === "object") {
    const o = first as {
      port?: unknown;
      host?: unknown;
      backlog?: unknown;
      ipv6Only?: unknown;
      exclusive?: unknown;
      reusePort?: unknown;
      path?: unknown;
      fd?: unknown;
      _handle?: unknown;
    };
    // Exclusive and SO_REUSEPORT binds, handles, fds and invalid options go to the runtime's
    // own listen(), as in Node.
    if (o.exclusive || o.reusePort || o.fd !== undefined || o._handle !== undefined) {
      return undefined;
    }
    if (o.path !== undefined) {
      if (typeof o.path !== "string" || o.path === "") return undefined; // Node's error
      const backlog = typeof o.backlog === "number" ? o.backlog : undefined;
      return pipe(o.path, backlog, callback);
    }
    if (o.port === undefined && o.host === undefined) return undefined;
    const port = toPort(o.port ?? 0);
    if (port === undefined) return undefined;
    return {
      port,
      host: typeof o.host === "string" ? o.host : undefined,
      backlog: typeof o.backlog === "number" ? o.backlog : undefined,
      ipv6Only: o.ipv6Only === true,
      callback,
    };
  }
  if (typeof first === "string" && !/^\d+$/.test(first)) {
    const backlog = typeof args[1] === "number" ? args[1] : undefined;
    return pipe(first, backlog, callback); // listen(path[, backlog][, cb])
  }
  const port = toPort(first ?? 0);
  if (port === undefined) return undefined; // let Node throw its ERR_SOCKET_BAD_PORT
  const host = typeof args[1] === "string" ? args[1] : undefined;
  const backlog = [args[1], args[2]].find((a) => typeof a === "number") as number | undefined;
  return { port, host, backlog, ipv6Only: false, callback };
}

/** A pipe request: Node's child.js resolves relative paths against the worker's cwd. */
function pipe(
  path: string,
  backlog: number | undefined,
  callback: (() => void) | undefined,
): Request {
  return {
    path: nodePath.resolve(path),
    port: -1,
    host: undefined,
    backlog,
    ipv6Only: false,
    callback,
  };
}

function toPort(value: unknown): number | undefined {
  const port = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535
    ? port
    : undefined;
}
