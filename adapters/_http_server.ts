// The worker side's node:net/node:http servers: a user's server (or the fetch bridge's) fed from
// a listen socket or with handed-over connections, and closed gracefully.

import { Buffer } from "node:buffer";
import type http from "node:http";
import type net from "node:net";
import type { ServeSource, WorkerServer } from "../src/types.ts";
import { addressOf } from "./_address.ts";
import { builtin } from "./_builtins.ts";
import { socketOf } from "./_raw_connections.ts";

/** How long a closing server leaves idle keep-alive connections open (clients may be writing). */
export const IDLE_GRACE_MS = 1000;

/** Binds a plain listen socket with SO_REUSEPORT. */
function listenReusePort(
  source: Extract<ServeSource, { kind: "reuse-port" }>,
): Promise<net.Server> {
  const server = builtin("node:net").createServer();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const options = {
      host: source.hostname,
      port: source.port,
      backlog: source.backlog,
      reusePort: true,
    } as net.ListenOptions;
    server.listen(options, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/**
 * Whether Linux moves connections queued on a closing SO_REUSEPORT listener to another one of
 * its group (`net.ipv4.tcp_migrate_req=1`). Only then can a runtime's native server, whose
 * socket cannot be handed to a replacement, be closed by a reload without resetting any.
 */
export function kernelMigratesQueuedConnections(): boolean {
  try {
    return builtin("node:fs").readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim() ===
      "1";
  } catch {
    return false;
  }
}

/** Connects a user's server to a source and tracks its connections for a graceful close. */
export async function attachServer(server: net.Server, source: ServeSource): Promise<WorkerServer> {
  const sockets = new Set<net.Socket>();
  let closing = false, closed = false;
  let requests = 0;
  const isHttp = typeof (server as http.Server).closeIdleConnections === "function";
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  // `server.maxConnections`, as Node's onconnection() checks it: a connection beyond it is
  // refused, so the primary hands it to another worker (Node's cluster child does the same).
  const full = () => server.maxConnections != null && sockets.size >= server.maxConnections;
  const feed = (socket: net.Socket, head?: Uint8Array): boolean => {
    if (closing || full()) return false;
    track(socket);
    // Bytes the primary read (L7 sticky routing) come first, through the public stream API.
    if (head !== undefined && head.length > 0) socket.unshift(Buffer.from(head));
    if (!isHttp) requests++;
    server.emit("connection", socket);
    socket.resume();
    return true;
  };
  // The server serves connections it never accepted itself; it reports `listening` while it
  // does. Deno's node:http needs that: it destroys a keep-alive socket after each response when
  // its server is not listening (denoland/deno#35609), which reset every second request. So it
  // stays "listening" until its last connection ended: a response to a request that was in
  // flight when closing began still says keep-alive, and the client reuses that connection
  // (its next response says `Connection: close`); had Deno destroyed it, that next request
  // would fail (issue #13, item 5).
  try {
    Object.defineProperty(server, "listening", { get: () => !closed, configurable: true });
  } catch {
    // A layer above defined it already (compat.ts): theirs stands.
  }
  if (isHttp) {
    // While closing, every response says `Connection: close`, so keep-alive clients move on.
    server.prependListener("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
      requests++;
      if (closing) res.shouldKeepAlive = false;
    });
  }
  // Every source but handed-over connections is a listen socket whose connections are fed to
  // the server. For reuse-port that is a plain net.Server we bind (not the user's server), so a
  // reload can hand this very socket to the replacement (lend) and no listener ever closes with
  // connections queued on it.
  let listenHandle: net.Server | undefined;
  if (source.kind === "handle") listenHandle = source.handle as net.Server;
  else if (source.kind === "reuse-port") listenHandle = await listenReusePort(source);
  listenHandle?.on("connection", (socket: net.Socket) => {
    if (feed(socket)) return;
    // A connection this server accepted itself and cannot take: closed, with Node's `drop`.
    if (!closing) server.emit("drop", dropped(socket));
    socket.destroy();
  });
  const address = listenHandle ? addressOf(listenHandle) : undefined;
  return {
    address,
    listenHandle,
    engine: isHttp ? "node:http" : "node:net",
    engineReason: undefined,
    lossOnClose: undefined,
    get requests() {
      return requests;
    },
    get connections() {
      return sockets.size;
    },
    // A raw handle on Node's round-robin (adapters/_raw_connections.ts). Refused before it is
    // wrapped: a net.Socket around it would start reading, and a refused connection may go
    // back to the primary (`returned`) with its request unread.
    accept: (connection, head) => !closing && !full() && feed(socketOf(connection, false), head),
    async close() {
      closing = true;
      // Only the listen socket: http.Server.close() would also close idle keep-alive
      // connections at once, racing with the clients' next requests.
      listenHandle?.close();
      // Closing an idle keep-alive connection races with a request the client is sending on
      // it (the client sees ECONNRESET). So active clients first get their next response with
      // `Connection: close`; only connections still idle after IDLE_GRACE_MS are closed.
      const http1 = server as http.Server;
      const graceEnds = Date.now() + IDLE_GRACE_MS;
      while (sockets.size > 0) {
        if (Date.now() >= graceEnds) http1.closeIdleConnections?.();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      closed = true;
    },
  };
}

/** What Node's `drop` event says about a connection beyond `maxConnections`. */
function dropped(socket: net.Socket): Record<string, unknown> {
  const { localAddress, localPort, localFamily, remoteAddress, remotePort, remoteFamily } =
    socket as net.Socket & { localFamily?: string };
  return { localAddress, localPort, localFamily, remoteAddress, remotePort, remoteFamily };
}
