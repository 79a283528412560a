// Re-arms a node:net listen socket whose runtime stopped accepting on it (issue #13, item 9).
//
// Deno 2.9.6: once an accept() on a node:net server fails with EMFILE, its accept loop ends for
// good and says nothing (no `error` event); connections pile up in the kernel's accept queue
// after the descriptors came back (measured: 0 of 25 accepted 5 s later). Calling `listen()`
// on its handle again restarts the loop and keeps every queued connection (25 of 25). Node
// (libuv's EMFILE trick closes the queued connections and goes on accepting) and Bun (keeps
// them queued, accepts once it can) recover by themselves and are not watched.
//
// Detection, while the loop accepts nothing: the listen socket's accept-queue length, which
// Linux shows per socket in /proc/net/tcp{,6} (`rx_queue` of a LISTEN row). The row is found by
// the local address and port, not by inode: the only way to the descriptor on Deno is the
// handle's `fdForIpc()`, which leaves a copy of the socket open, so after `close()` the port
// kept listening and connections sent to it were reset instead of refused (the Deno
// "shutdown() under load" test in tests/supervision_test.ts).
// A queue that stayed non-empty for two checks with no accept in between is a dead loop. A
// check costs nothing while connections arrive (one counter compare) and one read of the TCP
// table per CHECK_MS while none do.

import { readFileSync } from "node:fs";
import type net from "node:net";

/** How often an idle listener's accept queue is looked at (ms). */
export const CHECK_MS = 500;

/** What {@linkcode watchAccepts} gives back. */
export interface AcceptWatch {
  /** How many times the listener was re-armed. */
  readonly rearmed: number;
}

interface DenoTcpHandle {
  listen?(backlog: number): number;
}

/**
 * Watches `server` (listening) for an accept loop that died, on runtimes where one can
 * (Deno), and restarts it. Returns `undefined` where nothing needs watching or the socket's
 * queue cannot be read (not Linux, no permission to read /proc).
 *
 * @example
 * ```ts ignore
 * import net from "node:net";
 * import { watchAccepts } from "./_accept_watch.ts";
 *
 * const server = net.createServer((socket) => socket.end());
 * server.listen(0, () => watchAccepts(server, "deno", undefined));
 * ```
 */
export function watchAccepts(
  server: net.Server,
  runtime: string,
  backlog: number | undefined,
): AcceptWatch | undefined {
  if (runtime !== "deno") return undefined;
  const handle = (server as unknown as { _handle?: DenoTcpHandle })._handle;
  if (typeof handle?.listen !== "function") return undefined;
  const row = listenRow(server);
  if (row === undefined || queueLength(row) === undefined) return undefined;
  let accepts = 0, seen = 0, suspect = false, rearmed = 0;
  server.on("connection", () => void accepts++);
  const timer = setInterval(() => {
    if (accepts !== seen) {
      seen = accepts;
      suspect = false;
      return;
    }
    const queued = queueLength(row) ?? 0;
    if (queued === 0) {
      suspect = false;
    } else if (!suspect) {
      suspect = true; // one more check: the loop may be about to take them
    } else {
      suspect = false;
      rearmed++;
      // Node's default backlog, as net.Server.listen() passes it.
      handle.listen!(backlog ?? 511);
    }
  }, CHECK_MS);
  (timer as { unref?: () => void }).unref?.();
  server.once("close", () => clearInterval(timer));
  return {
    get rearmed() {
      return rearmed;
    },
  };
}

/**
 * How /proc/net/tcp{,6} spell the server's local address ("0100007F:1F90"), or undefined for
 * an address family it does not show that way.
 */
function listenRow(server: net.Server): string | undefined {
  const address = server.address();
  if (address === null || typeof address === "string") return undefined;
  const port = address.port.toString(16).toUpperCase().padStart(4, "0");
  if (address.family === "IPv4" || address.family === (4 as unknown)) {
    // Little-endian 32-bit word, as the kernel prints it.
    const hex = address.address.split(".").reverse()
      .map((part) => Number(part).toString(16).toUpperCase().padStart(2, "0")).join("");
    return `${hex}:${port}`;
  }
  if (address.address === "::") return `${"0".repeat(32)}:${port}`;
  return undefined;
}

/**
 * The accept-queue length of the one LISTEN socket bound to `local`, or undefined if there is
 * none or more than one (reuse-port listeners share an address: no way to tell ours apart).
 */
function queueLength(local: string): number | undefined {
  let found: number | undefined;
  let rows = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const fields = line.trim().split(/\s+/);
      // sl local remote st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      if (fields[1] === local && fields[3] === "0A") {
        rows++;
        found = parseInt(fields[4].split(":")[1], 16);
      }
    }
  }
  return rows === 1 ? found : undefined;
}
