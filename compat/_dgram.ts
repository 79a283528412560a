// Ports the worker half of lib/dgram.js `bind()` in a cluster worker (bindServerHandle() and
// child.js _getServer() with an `addressType` of "udp4"/"udp6"): a worker's non-exclusive
// `socket.bind()` asks the primary through `Cluster.worker.bindUdp()`, which shares one socket
// per address between the workers; `exclusive: true` and `reusePort` sockets bind alone, as
// in Node. `bind({ fd })` names a descriptor of the primary, as in Node.
// The user's socket then forwards to the shared socket it got (its own stays unbound): the
// public dgram API has no way to make a socket take a received handle.

import type dgram from "node:dgram";
import process from "node:process";
import type { BoundUdp, ClusterWorker, UdpOptions } from "../mod.ts";

/** What `bind(...args)` asks for; `undefined` means "bind alone". */
interface UdpRequest {
  options: UdpOptions;
  callback: (() => void) | undefined;
}

/** The dgram.Socket methods that act on the bound socket, forwarded to the shared one. */
const FORWARDED = [
  "address",
  "remoteAddress",
  "connect",
  "disconnect",
  "send",
  "sendto",
  "setBroadcast",
  "setTTL",
  "setMulticastTTL",
  "setMulticastLoopback",
  "setMulticastInterface",
  "addMembership",
  "dropMembership",
  "addSourceSpecificMembership",
  "dropSourceSpecificMembership",
  "setRecvBufferSize",
  "setSendBufferSize",
  "getRecvBufferSize",
  "getSendBufferSize",
  "getSendQueueSize",
  "getSendQueueCount",
] as const;

/**
 * Makes a worker's `socket.bind(...args)` share its address through the primary; returns
 * false when the call binds alone (exclusive, `reusePort`, or arguments Node rejects).
 *
 * @example
 * ```ts ignore
 * if (!bindShared(worker, socket, args)) originalBind.apply(socket, args);
 * ```
 */
export function bindShared(worker: ClusterWorker, socket: dgram.Socket, args: unknown[]): boolean {
  const request = parse(socket, [...args]);
  if (!request) return false;
  if (request.callback) socket.once("listening", request.callback);
  let closed = false;
  let closedByUser = false;
  let bound: BoundUdp | undefined;
  // Until the primary answers, the socket is "binding": sends wait (Node's enqueue()), as an
  // unbound socket's send() would bind it alone, and close() ends the request.
  const waiting: unknown[][] = [];
  methods(socket, {
    send: (...a: unknown[]) => void waiting.push(a),
    close(callback?: () => void) {
      if (typeof callback === "function") socket.once("close", callback);
      if (closed) return socket;
      closed = closedByUser = true;
      if (bound) bound.close().catch(() => {});
      else process.nextTick(() => socket.emit("close"));
      return socket;
    },
    ref: () => (bound && (bound.socket as dgram.Socket).ref(), socket),
    unref: () => (bound && (bound.socket as dgram.Socket).unref(), socket),
  });
  // A disconnect while the primary has not answered closes the socket (its reply, if any, is
  // closed on arrival: see receivedSockets()).
  const onShutdown = (): void => {
    if (bound || closed) return;
    closed = true;
    process.nextTick(() => socket.emit("close"));
  };
  worker.once("shutdown", onShutdown);
  worker.bindUdp(request.options).then((result) => {
    worker.off("shutdown", onShutdown);
    bound = result;
    const shared = result.socket as dgram.Socket;
    if (closed) return void result.close().catch(() => {});
    shared.on("message", (message, info) => socket.emit("message", message, info));
    shared.on("error", (error) => socket.emit("error", error));
    shared.on("connect", () => socket.emit("connect"));
    shared.once("close", () => {
      closed = true;
      socket.emit("close");
    });
    const forwarded: Record<string, (...a: unknown[]) => unknown> = {};
    for (const name of FORWARDED) {
      const method = (shared as unknown as Record<string, unknown>)[name];
      if (typeof method !== "function") continue; // not on this runtime (Deno lacks some)
      forwarded[name] = (...a: unknown[]) => {
        const out = (method as (...a: unknown[]) => unknown).apply(shared, a);
        return out === shared ? socket : out;
      };
    }
    // Node's disconnect closes the handle under the socket, whose send() then fails through
    // its callback rather than throwing ERR_SOCKET_DGRAM_NOT_RUNNING (that is for close()).
    const send = forwarded.send;
    forwarded.send = (...a: unknown[]) => {
      if (!closed || closedByUser) return send(...a);
      const callback = a.findLast((x) => typeof x === "function") as
        | ((error: Error) => void)
        | undefined;
      const error = Object.assign(new Error("send EBADF: the worker's UDP socket was closed"), {
        code: "EBADF",
        syscall: "send",
      });
      if (callback) process.nextTick(callback, error);
    };
    methods(socket, forwarded);
    socket.emit("listening");
    for (const a of waiting.splice(0)) forwarded.send(...a);
  }, (error) => {
    worker.off("shutdown", onShutdown);
    if (closed) return;
    closed = true;
    // The worker is leaving (its channel closed): Node's bind() never completes then.
    if (error?.code === "CHANNEL_CLOSED") return;
    Object.assign(error, { syscall: "bind", address: request.options.hostname, port: request.options.port });
    socket.emit("error", error);
  });
  return true;
}

/**
 * Closes the UDP sockets the runtime's child_process makes of handles that arrive once this
 * worker is leaving: a reply to a bind the primary answered while the worker disconnected
 * never reaches the core (the channel is closing), and its bound socket would keep the
 * process alive.
 *
 * @example
 * ```ts ignore
 * const received = receivedSockets(worker);
 * received(socket); // from bind(handle)
 * ```
 */
export function receivedSockets(worker: ClusterWorker): (socket: dgram.Socket) => void {
  let leaving = false;
  worker.on("shutdown", () => (leaving = true));
  return (socket) => {
    if (leaving) socket.once("listening", () => socket.close());
  };
}

/** Node's dgram bind arguments, for the calls a worker shares. */
function parse(socket: dgram.Socket, args: unknown[]): UdpRequest | undefined {
  const callback = typeof args[args.length - 1] === "function"
    ? args.pop() as () => void
    : undefined;
  const state = stateOf(socket);
  if (state.reusePort) return undefined; // SO_REUSEPORT binds alone, as in Node
  const type = (socket as unknown as { type?: unknown }).type === "udp6" ? "udp6" : "udp4";
  const common = {
    type,
    ...(state.reuseAddr ? { reuseAddr: true } : {}),
    ...(state.ipv6Only && type === "udp6" ? { ipv6Only: true } : {}),
  } as const;
  const first = args[0];
  if (first !== null && typeof first === "object") {
    // A runtime's handle (child_process binds a received socket's this way): not an address.
    const proto = Object.getPrototypeOf(first);
    if (proto !== Object.prototype && proto !== null) return undefined;
    const o = first as { port?: unknown; address?: unknown; exclusive?: unknown; fd?: unknown };
    if (o.exclusive) return undefined;
    if (o.fd !== undefined) {
      if (!(Number.isInteger(o.fd) && (o.fd as number) >= 0)) return undefined; // Node throws
      return { options: { ...common, fd: o.fd as number }, callback };
    }
    const port = toPort(o.port ?? 0);
    if (port === undefined) return undefined;
    const hostname = typeof o.address === "string" && o.address !== "" ? o.address : undefined;
    return { options: { ...common, port, ...(hostname ? { hostname } : {}) }, callback };
  }
  const port = toPort(first ?? 0);
  if (port === undefined) return undefined; // let the runtime throw its ERR_SOCKET_BAD_PORT
  const hostname = typeof args[1] === "string" && args[1] !== "" ? args[1] : undefined;
  return { options: { ...common, port, ...(hostname ? { hostname } : {}) }, callback };
}

/**
 * The socket's createSocket() options, which dgram keeps in its state object (under a symbol
 * named "state symbol" on Node and Bun, "kStateSymbol" on Deno): there is no public getter.
 */
function stateOf(socket: dgram.Socket): { reuseAddr?: boolean; reusePort?: boolean; ipv6Only?: boolean } {
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    const value = (socket as unknown as Record<symbol, unknown>)[symbol];
    if (value !== null && typeof value === "object" && "reuseAddr" in value) {
      return value as { reuseAddr?: boolean; reusePort?: boolean; ipv6Only?: boolean };
    }
  }
  return {};
}

function toPort(value: unknown): number | undefined {
  const port = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535
    ? port
    : undefined;
}

function methods(target: object, table: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(table)) {
    Object.defineProperty(target, name, { value, configurable: true, writable: true });
  }
}
