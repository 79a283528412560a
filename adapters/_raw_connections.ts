// Round-robin's primary takes each accepted connection as the runtime's raw handle (a libuv
// TCP wrap), without building a net.Socket for it, and hands that handle over: what Node's own
// RoundRobinHandle does (`server._handle.onconnection`, lib/internal/cluster/round_robin_handle.js).
// Through the public path every connection cost the primary a net.Socket (stream state, its
// listeners, `connection` event), child_process's net.Socket send conversion (which also tracks
// the socket for `server.getConnections()`) and a destroy() once the worker took it. The worker
// wraps the handle in a net.Socket, as Node's cluster worker does.
//
// Detected at run time: Node only (its handle's `onconnection` and child_process's "net.Native"
// handle type). Deno and Bun keep the public path: Bun's net.Server has no `_handle`. Deno
// 2.9.6's native TCPWrap calls `onconnection(status)` with no client handle (the JS side takes
// the connection with `accept(new TCPWrap(SOCKET))`, as Deno's own net.Server does), so an
// earlier attempt here that expected Node's `(status, clientHandle)` handed nothing over
// (tests/reliability_stall_test.ts: 3,000 of 3,000 timed out). Taking the connection with
// `accept()` does work: the handle reaches a worker and serves (2 December, a standalone
// fork + curl check). It is not used: measured 3 December (wrk -c64 churn, 4 interleaved
// rounds, primary CPU per connection) it cost the same as the public path (97-126 µs against
// 96-126; Deno's own SCHED_RR 66-97), so Deno's cost is not the net.Socket. Beware when trying
// again: raw accepts emit no `connection`, which adapters/_accept_watch.ts counts; uncounted,
// it read /proc/net/tcp every 500 ms and re-armed a busy listener (132-156 µs per connection),
// a likely cause of the flood-test failures of the first attempt. Sticky routing's head reader
// needs a stream: it gets a net.Socket built around the handle on demand, and that socket is
// what is closed afterwards.

import type net from "node:net";
import { builtin } from "./_builtins.ts";

/** A libuv TCP handle as node:net keeps it (`socket._handle`). */
interface RawHandle {
  close(callback?: () => void): void;
  getpeername?(out: { address?: string; port?: number }): number;
  readStop?(): number;
}

interface RawServerHandle {
  onconnection?: (error: number, handle: RawHandle | undefined) => void;
}

/** The sockets built around raw handles in the primary (for the head reader). */
const wrappers = new WeakMap<object, net.Socket>();

/**
 * Makes `server` (listening) give `onConnection` raw handles instead of net.Sockets, where the
 * runtime allows it; returns whether it does.
 *
 * @example
 * ```ts ignore
 * const server = net.createServer({ pauseOnConnect: true }, onConnection);
 * server.listen(0, () => takeRawConnections(server, "node", onConnection));
 * ```
 */
export function takeRawConnections(
  server: net.Server,
  runtime: string,
  onConnection: (connection: unknown) => void,
): boolean {
  if (runtime !== "node") return false;
  const handle = (server as unknown as { _handle?: RawServerHandle })._handle;
  if (typeof handle?.onconnection !== "function") return false;
  // An accept error (EMFILE…) is what node:net would emit as the server's `error`; libuv goes
  // on accepting, so it is only dropped here, as node:cluster's round-robin drops it.
  handle.onconnection = (error, connection) => {
    if (error === 0 && connection !== undefined) onConnection(connection);
  };
  return true;
}

/**
 * Closes the primary's copy of a connection (a net.Socket or a raw handle).
 *
 * @example
 * ```ts ignore
 * releaseConnection(connection); // after the worker took it
 * ```
 */
export function releaseConnection(connection: unknown): void {
  if (connection instanceof builtin("node:net").Socket) return void connection.destroy();
  const wrapper = wrappers.get(connection as object);
  if (wrapper) return void wrapper.destroy();
  (connection as RawHandle).close();
}

/**
 * The peer's address and port of a connection (a net.Socket or a raw handle).
 *
 * @example
 * ```ts ignore
 * peerOf(connection); // { address: "127.0.0.1", port: 51234 }
 * ```
 */
export function peerOf(
  connection: unknown,
): { address: string | undefined; port: number | undefined } {
  let address: string | undefined, port: number | undefined;
  if (connection instanceof builtin("node:net").Socket) {
    address = connection.remoteAddress;
    port = connection.remotePort;
  } else {
    const out: { address?: string; port?: number } = {};
    (connection as RawHandle).getpeername?.(out);
    address = out.address;
    port = out.port;
  }
  return { address: address?.startsWith("::ffff:") ? address.slice(7) : address, port };
}

/**
 * A net.Socket for a connection: itself, or one built around a raw handle (paused, as the
 * primary accepted it). In the primary the socket is remembered, so that releasing the handle
 * closes it.
 *
 * @example
 * ```ts ignore
 * const socket = socketOf(handle, false); // in a worker
 * ```
 */
export function socketOf(connection: unknown, remember: boolean): net.Socket {
  const { Socket } = builtin("node:net");
  if (connection instanceof Socket) return connection;
  const known = wrappers.get(connection as object);
  if (known) return known;
  const socket = new Socket({
    handle: connection,
    readable: true,
    writable: true,
  } as net.SocketConstructorOpts);
  if (remember) {
    socket.pause();
    wrappers.set(connection as object, socket);
  }
  return socket;
}

/**
 * Whether `value` is a raw connection handle (not a net.Socket or net.Server).
 *
 * @example
 * ```ts ignore
 * if (isRawConnection(handle)) releaseConnection(handle);
 * ```
 */
export function isRawConnection(value: unknown): boolean {
  const { Socket, Server } = builtin("node:net");
  return typeof value === "object" && value !== null && !(value instanceof Socket) &&
    !(value instanceof Server) && typeof (value as RawHandle).close === "function" &&
    typeof (value as RawHandle).getpeername === "function";
}
