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
// Linux shows per socket in /proc/net/tcp{,6} (`rx_queue` of a LISTEN row, matched by inode).
// A queue that stayed non-empty for two checks with no accept in between is a dead loop. A
// check costs nothing while connections arrive (one counter compare) and one read of the TCP
// table per CHECK_MS while none do.

import { readFileSync, readlinkSync } from "node:fs";
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
  fdForIpc?(): number;
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
  const inode = socketInode(handle);
  if (inode === undefined || queueLength(inode) === undefined) return undefined;
  let accepts = 0, seen = 0, suspect = false, rearmed = 0;
  server.on("connection", () => void accepts++);
  const timer = setInterval(() => {
    if (accepts !== seen) {
      seen = accepts;
      suspect = false;
      return;
    }
    const queued = queueLength(inode) ?? 0;
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

function socketInode(handle: DenoTcpHandle): string | undefined {
  try {
    const fd = handle.fdForIpc?.();
    if (typeof fd === "number" && fd >= 0) {
      return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** The accept-queue length of the LISTEN socket with `inode`, or undefined if not found. */
function queueLength(inode: string): number | undefined {
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
      if (fields[9] === inode && fields[3] === "0A") {
        return parseInt(fields[4].split(":")[1], 16);
      }
    }
  }
  return undefined;
}
