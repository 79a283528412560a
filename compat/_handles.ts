// Handle passing like child_process: `send(message, handle)` carries a net.Socket or net.Server
// where the runtime can; a listen socket on a runtime that moves it (Deno) is refused with a
// clear error instead of silently closing the sender's copy. The check is synchronous so that
// the send starts at once, as Node's does (programs close their copy right after send()).

import net from "node:net";
import process from "node:process";
import { detectRuntime } from "../adapters/mod.ts";
import { ClusterError } from "../src/errors.ts";

/** Why `handle` cannot be sent from this process, or `undefined` if it can. */
export function handleError(handle: unknown): Error | undefined {
  if (!(handle instanceof net.Server) || detectRuntime() !== "deno") return undefined;
  return new ClusterError(
    "UNSUPPORTED",
    `Cannot send a net.Server on deno ${process.versions.deno}: Deno's child_process moves a ` +
      "listen socket to the receiving process instead of sharing it, so this process would " +
      "lose it; send connections (net.Socket) instead, or listen in the workers",
  );
}
