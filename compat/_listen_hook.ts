// Ports listenInCluster() of lib/net.js and _getServer() of lib/internal/cluster/child.js: in a
// worker, `server.listen(port, host, backlog, cb)` on a node:net or node:http server asks the
// primary through `Cluster.worker.listen()` instead of binding. `exclusive: true` and handles
// bind alone, as in Node. Deviation: pipes bind alone too (Node shares them through the primary;
// the core shares TCP addresses only). Installed only in workers, when compat is loaded.

import http from "node:http";
import net from "node:net";
import process from "node:process";
import type { BoundServer, ClusterWorker } from "../mod.ts";

// deno-lint-ignore no-explicit-any
type Listen = (this: net.Server, ...args: any[]) => net.Server;

/** Set on a server while our core attaches it: its own listen() calls bind for real. */
const ROUTED = Symbol("@x/cluster/compat.routed");

interface Request {
  port: number;
  host: string | undefined;
  backlog: number | undefined;
  callback: (() => void) | undefined;
}

/** Patches `listen` of net.Server (and http.Server where it differs, as on Bun). */
export function installListenHook(worker: ClusterWorker): void {
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
      worker.listen(server, {
        port: request.port,
        hostname: request.host,
        backlog: request.backlog,
      }).then(
        (bound) => shared(server, bound),
        (error) => {
          server[ROUTED] = false;
          // The worker is leaving (its channel closed): Node's listen() never completes then.
          if (error?.code === "CHANNEL_CLOSED") return;
          Object.assign(error, {
            syscall: "listen",
            address: request.host ?? "::",
            port: request.port,
          });
          server.emit("error", error);
        },
      );
      return server;
    };
    Object.defineProperty(hooked, ROUTED, { value: original });
    proto.listen = hooked as typeof proto.listen;
  }
}

/** Makes a server that our core attached look like Node's cluster worker server. */
function shared(server: net.Server, bound: BoundServer): void {
  // The core feeds the server connections from a socket it holds (every policy) and makes
  // `server.listening` true until the server closes (adapters/_http_server.ts): Node's server
  // holds a faux handle instead. What that handle answers, address() and close(), is here.
  const address = { address: bound.hostname, family: bound.family, port: bound.port };
  Object.defineProperties(server, {
    address: {
      configurable: true,
      writable: true,
      value: () => (server.listening ? { ...address } : null),
    },
    close: {
      configurable: true,
      writable: true,
      value: function (this: net.Server, callback?: (error?: Error) => void) {
        if (!server.listening) return Object.getPrototypeOf(this).close.call(this, callback);
        // The server never held a listen handle of its own: report the close ourselves, once
        // its connections ended, as Node does.
        if (typeof callback === "function") server.once("close", () => callback());
        bound.close().catch(() => {}).then(() => server.emit("close"));
        return this;
      },
    },
  });
  // Unless a disconnect closed it meanwhile.
  process.nextTick(() => server.listening && server.emit("listening"));
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
      exclusive?: unknown;
      path?: unknown;
      fd?: unknown;
      _handle?: unknown;
    };
    // Exclusive binds, handles, fds and invalid options go to the runtime's own listen(), as
    // in Node; pipes too (see the header).
    if (o.exclusive || o.path !== undefined || o.fd !== undefined || o._handle !== undefined) {
      return undefined;
    }
    if (o.port === undefined && o.host === undefined) return undefined;
    const port = toPort(o.port ?? 0);
    if (port === undefined) return undefined;
    return {
      port,
      host: typeof o.host === "string" ? o.host : undefined,
      backlog: typeof o.backlog === "number" ? o.backlog : undefined,
      callback,
    };
  }
  if (typeof first === "string" && !/^\d+$/.test(first)) return undefined; // a pipe name
  const port = toPort(first ?? 0);
  if (port === undefined) return undefined; // let Node throw its ERR_SOCKET_BAD_PORT
  const host = typeof args[1] === "string" ? args[1] : undefined;
  const backlog = [args[1], args[2]].find((a) => typeof a === "number") as number | undefined;
  return { port, host, backlog, callback };
}

function toPort(value: unknown): number | undefined {
  const port = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535
    ? port
    : undefined;
}
