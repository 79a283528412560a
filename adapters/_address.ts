// Reading and reaching the address a node:net server is bound to (shared by the adapter's
// listeners and the worker-side servers).

import type net from "node:net";
import type { Address } from "../src/types.ts";

/** Reads a net.Server's bound address. */
export function addressOf(server: net.Server): Address {
  const a = server.address();
  if (!a || typeof a === "string") throw new Error("Server is not bound to a TCP address");
  const family = String(a.family) === "IPv6" || String(a.family) === "6" ? "IPv6" : "IPv4";
  return { hostname: a.address, port: a.port, family };
}

/** Where to connect to reach a socket bound to `hostname` (any-address → loopback). */
export function loopbackFor(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::" || hostname === "::0") return "::1";
  return hostname;
}
