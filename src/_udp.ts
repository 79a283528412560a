// The worker's side of UDP sockets shared through the primary (`Cluster.worker.bindUdp()`):
// what a caller asks for and what it gets. Node's cluster shares every non-exclusive dgram
// socket of a worker this way (lib/internal/cluster/child.js `_getServer` with `addressType`
// "udp4"/"udp6"); UDP is never round-robin, so there is no policy or scheduler to pick.

/** What `Cluster.worker.bindUdp()` binds. */
export interface UdpOptions {
  /** The socket type. @default "udp4" */
  type?: "udp4" | "udp6";
  /** The port; 0 picks one, shared by the Nth port-0 socket of each worker. @default 0 */
  port?: number;
  /** The address; absent binds every address of the type (`0.0.0.0` or `::`). */
  hostname?: string;
  /** `udp6`: leave IPv4 to others. @default false */
  ipv6Only?: boolean;
  /** Bind with SO_REUSEADDR, as dgram's `reuseAddr`. @default false */
  reuseAddr?: boolean;
  /**
   * A descriptor of the **primary** (bound there already) to share instead of an address, as
   * Node's cluster treats `socket.bind({ fd })` in a worker. @default undefined
   */
  fd?: number;
}

/**
 * A UDP socket shared with the other workers that bound the same address.
 *
 * @example
 * ```ts ignore
 * const bound: BoundUdp = await Cluster.worker.bindUdp({ port: 5300 });
 * (bound.socket as import("node:dgram").Socket).on("message", (m) => console.log(String(m)));
 * ```
 */
export interface BoundUdp {
  /** The bound address (the real port). */
  readonly hostname: string;
  /** The real port (never 0). */
  readonly port: number;
  /** Address family. */
  readonly family: "IPv4" | "IPv6";
  /** The runtime's socket (a `node:dgram` Socket on Node, Deno and Bun), already receiving. */
  readonly socket: unknown;
  /** Closes this worker's copy and tells the primary (the others keep receiving). */
  close(): Promise<void>;
}

/**
 * Checks `Cluster.worker.bindUdp()` options; throws `TypeError`/`RangeError` by meaning.
 *
 * @example
 * ```ts ignore
 * validateUdpOptions({ type: "udp4", port: 0 });
 * ```
 */
export function validateUdpOptions(o: UdpOptions): void {
  if (typeof o !== "object" || o === null) throw new TypeError("UDP options must be an object");
  if (o.type !== undefined && o.type !== "udp4" && o.type !== "udp6") {
    throw new TypeError(`Cannot bind UDP: type must be "udp4" or "udp6", got ${String(o.type)}`);
  }
  if (o.ipv6Only !== undefined && typeof o.ipv6Only !== "boolean") {
    throw new TypeError("Cannot bind UDP: ipv6Only must be a boolean");
  }
  if (o.reuseAddr !== undefined && typeof o.reuseAddr !== "boolean") {
    throw new TypeError("Cannot bind UDP: reuseAddr must be a boolean");
  }
  if (o.fd !== undefined && !(Number.isInteger(o.fd) && o.fd >= 0)) {
    throw new RangeError(`Cannot bind UDP: fd must be a descriptor (an integer >= 0), got ${o.fd}`);
  }
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) {
    throw new RangeError(`Cannot bind UDP: port must be an integer 0-65535, got ${o.port}`);
  }
  if (o.ipv6Only && o.type !== "udp6") {
    throw new TypeError('Cannot bind UDP: ipv6Only needs type "udp6"');
  }
}
