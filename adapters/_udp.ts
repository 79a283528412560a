// UDP sockets shared by workers, as Node's cluster shares them (lib/internal/cluster/
// shared_handle.js with dgram): the primary binds, each worker receives on the same socket.
// Node, Deno and Bun all send a bound `dgram.Socket` over `child_process` IPC (tried with a
// plain fork: a datagram sent to the primary's port after it closed its copy reaches the child).
// Deviation: Node's primary holds a UDP handle that never reads; a public dgram socket reads once
// bound, so the primary closes its copy as soon as a worker holds it (SharedHandle lends it on).

import type dgram from "node:dgram";
import type { Listener, UdpBindOptions, WorkerServer } from "../src/types.ts";
import { builtin } from "./_builtins.ts";

/**
 * Binds a UDP socket in the primary for workers to share; rejects with the system error.
 *
 * @example
 * ```ts ignore
 * const listener = await bindUdp({ type: "udp4", hostname: "127.0.0.1", port: 0 });
 * console.log(listener.address.port);
 * ```
 */
export function bindUdp(options: UdpBindOptions): Promise<Listener> {
  const socket = builtin("node:dgram").createSocket({
    type: options.type,
    ...(options.ipv6Only ? { ipv6Only: true } : {}),
    ...(options.reuseAddr ? { reuseAddr: true } : {}),
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    // Datagrams the primary reads before a worker holds the socket are dropped (see header).
    socket.on("message", () => {});
    const where = options.fd === undefined
      ? { port: options.port, address: options.hostname }
      : { fd: options.fd };
    socket.bind(where, () => {
      socket.off("error", reject);
      socket.on("error", () => {}); // a send-side error of ours has nobody to report to
      resolve(udpListener(socket));
    });
  });
}

/**
 * Wraps a UDP socket a worker lent (received over IPC) so the primary can pass it on.
 *
 * @example
 * ```ts ignore
 * const listener = adoptUdp(handle);
 * await listener.close();
 * ```
 */
export function adoptUdp(handle: unknown): Listener {
  const socket = handle as dgram.Socket;
  socket.on("message", () => {});
  socket.on("error", () => {});
  return udpListener(socket);
}

/**
 * A worker's UDP socket received from the primary, as a server the core tracks (its handle
 * is what the worker lends to workers joining later).
 *
 * @example
 * ```ts ignore
 * const server = openUdp(handle);
 * (server.listenHandle as dgram.Socket).on("message", console.log);
 * ```
 */
export function openUdp(handle: unknown): WorkerServer {
  const socket = handle as dgram.Socket;
  let closed = false;
  socket.once("close", () => closed = true);
  return {
    address: addressOf(socket),
    listenHandle: socket,
    engine: "node:net",
    engineReason: undefined,
    lossOnClose: undefined,
    requests: 0,
    accept: () => false,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        socket.once("close", () => resolve());
        try {
          socket.close();
        } catch {
          resolve(); // closed by its user meanwhile
        }
      }),
  };
}

function udpListener(socket: dgram.Socket): Listener {
  let closed: Promise<void> | undefined;
  return {
    address: addressOf(socket),
    handle: socket,
    release: () => {},
    close: () =>
      closed ??= new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      }),
  };
}

function addressOf(socket: dgram.Socket): Listener["address"] {
  const a = socket.address();
  return { hostname: a.address, port: a.port, family: a.family === "IPv6" ? "IPv6" : "IPv4" };
}
