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
// table while none do. That read grows with every socket of the host: with 9,500 TIME_WAIT
// rows after churn, a check took 29–40 ms (the kernel's rendering of the table alone 26–30 ms),
// about 8 % of a core at one check per 500 ms under keep-alive load (2 December). So while the
// queue stays empty with no accepts the checks back off to MAX_CHECK_MS: the loop only dies at
// an accept, and the check after an accept or a queued connection comes CHECK_MS later again.

import type net from "node:net";
import { builtin } from "./_builtins.ts";

/** How soon after an accept, or a queued connection, the accept queue is looked at (ms). */
export const CHECK_MS = 500;

/** The longest wait between checks of a listener whose queue stays empty (ms). */
export const MAX_CHECK_MS = 4_000;

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
  let accepts = 0, seen = 0, suspect = false, rearmed = 0, delay = CHECK_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  server.on("connection", () => void accepts++);
  const check = () => {
    if (accepts !== seen) {
      seen = accepts;
      suspect = false;
      delay = CHECK_MS;
    } else if ((queueLength(row) ?? 0) === 0) {
      suspect = false;
      delay = Math.min(delay * 2, MAX_CHECK_MS);
    } else if (!suspect) {
      suspect = true; // one more check: the loop may be about to take them
      delay = CHECK_MS;
    } else {
      suspect = false;
      rearmed++;
      // Node's default backlog, as net.Server.listen() passes it.
      handle.listen!(backlog ?? 511);
    }
    if (!closed) arm();
  };
  const arm = () => {
    timer = setTimeout(check, delay);
    (timer as { unref?: () => void }).unref?.();
  };
  arm();
  server.once("close", () => {
    closed = true;
    clearTimeout(timer);
  });
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
  // The local address is the row's second field: ": <local> ".
  const needle = `: ${local} `;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = builtin("node:fs").readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) {
      const end = text.indexOf("\n", at);
      // local remote st tx_queue:rx_queue …
      const fields = text.slice(at + 2, end === -1 ? undefined : end).split(" ", 4);
      if (fields[2] === "0A") {
        rows++;
        found = parseInt(fields[3].split(":")[1], 16);
      }
    }
  }
  return rows === 1 ? found : undefined;
}
