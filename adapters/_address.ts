// Reading and reaching the address a node:net server is bound to (shared by the adapter's
// listeners and the worker-side servers).

import type net from "node:net";
import { relative } from "node:path";
import process from "node:process";
import type { Address } from "../src/types.ts";

/**
 * The name to bind Unix socket `path` by: the shorter of it and its path relative to this
 * process's working directory, as Node's primary picks (lib/internal/cluster/primary.js,
 * queryServer), since a socket's name is limited to 107 bytes on Linux.
 */
export function bindablePath(path: string): string {
  const near = relative(process.cwd(), path);
  return near !== "" && near.length < path.length ? near : path;
}

/** Reads a net.Server's bound address (a Unix socket's: its path, port -1). */
export function addressOf(server: net.Server): Address {
  const a = server.address();
  if (typeof a === "string") return { hostname: a, port: -1, family: "unix" };
  if (!a) throw new Error("Server is not bound");
  const family = String(a.family) === "IPv6" || String(a.family) === "6" ? "IPv6" : "IPv4";
  return { hostname: a.address, port: a.port, family };
}

/** Where to connect to reach a socket bound to `hostname` (any-address → loopback). */
export function loopbackFor(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::" || hostname === "::0") return "::1";
  return hostname;
}
