// The accept queue of a listen socket this process holds but cannot reach (Deno.serve's and
// Bun.serve's listeners expose no descriptor), read from Linux's /proc: the socket's inode is
// among /proc/self/fd's links, and /proc/net/tcp{,6} print each LISTEN socket's queue length
// (connections the kernel completed that the server has not accepted yet) as `rx_queue`.

import { closeSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";

const LISTEN = "0A";
const FILES = ["/proc/net/tcp", "/proc/net/tcp6"];

/**
 * Returns a reader of the accept queue length of this process's LISTEN socket on `port`, or
 * `undefined` where /proc cannot tell (not Linux, no read permission, socket not found). Each
 * call of the reader costs one read of the listeners' head of /proc/net/tcp: the kernel prints
 * every listener before the first connection, so the read stops there however many
 * connections (TIME_WAIT after churn) follow.
 */
export function listenQueueReader(port: number): (() => number | undefined) | undefined {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync("/proc/self/fd")) {
      try {
        const link = readlinkSync(`/proc/self/fd/${fd}`);
        if (link.startsWith("socket:[")) inodes.add(link.slice(8, -1));
      } catch {
        // The descriptor closed while we listed them.
      }
    }
    const portHex = port.toString(16).toUpperCase().padStart(4, "0");
    for (const file of FILES) {
      const inode = findListener(file, (fields) =>
        fields[1].endsWith(`:${portHex}`) && inodes.has(fields[9]));
      if (inode !== undefined) {
        return () => readListener(file, (fields) => fields[9] === inode);
      }
    }
  } catch {
    // No /proc (not Linux) or no permission to read it (Deno without --allow-read).
  }
  return undefined;
}

function findListener(file: string, match: (fields: string[]) => boolean): string | undefined {
  let found: string | undefined;
  scanListeners(file, (fields) => {
    if (!match(fields)) return false;
    found = fields[9];
    return true;
  });
  return found;
}

function readListener(file: string, match: (fields: string[]) => boolean): number | undefined {
  let queue: number | undefined;
  try {
    scanListeners(file, (fields) => {
      if (!match(fields)) return false;
      queue = parseInt(fields[4].slice(fields[4].indexOf(":") + 1), 16);
      return true;
    });
  } catch {
    return undefined;
  }
  return queue;
}

/** Calls `visit` with each LISTEN line's fields until it returns true or listeners end. */
function scanListeners(file: string, visit: (fields: string[]) => boolean): void {
  const fd = openSync(file, "r");
  try {
    const buffer = new Uint8Array(16 * 1024);
    const decoder = new TextDecoder();
    let rest = "";
    let header = true;
    while (true) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) return;
      const lines = (rest + decoder.decode(buffer.subarray(0, n), { stream: true })).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (header) {
          header = false;
          continue;
        }
        const fields = line.trim().split(/\s+/);
        if (fields[3] !== LISTEN) return;
        if (visit(fields)) return;
      }
    }
  } finally {
    closeSync(fd);
  }
}
