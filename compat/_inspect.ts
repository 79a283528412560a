// Ports the inspector port choice of createWorkerProcess() in lib/internal/cluster/primary.js:
// a worker forked with an inspector flag (--inspect, --inspect-brk, --inspect-port, and the old
// --debug forms) gets `--inspect-port=<port>`, settings.inspectPort (a number, or a function
// called per fork) or else the primary's debug port plus a per-process offset, so that two
// workers never ask for the same port. Deviation: Deno and Bun have no --inspect-port (Bun
// ignores it); there the port goes into the worker's own --inspect / --inspect-brk /
// --inspect-wait flag, its host kept.

import process from "node:process";

const INSPECT_FLAG = /^(--inspect|--inspect-(brk|port)|--debug|--debug-(brk|port))(=.*)?$/;
const DENO_INSPECT = /^--inspect(-brk|-wait)?(?:=(.*))?$/;
const MAX_PORT = 65535;
/** Node's default inspector port, where the runtime has no process.debugPort (Deno, Bun). */
const DEFAULT_DEBUG_PORT = 9229;

/** The inspector ports of one primary's workers. */
export class InspectPorts {
  #offset = 1;

  /**
   * `execArgv` plus the worker's `--inspect-port` if it has an inspector flag. Throws as Node's
   * fork() does for a bad `inspectPort`.
   */
  flags(
    execArgv: readonly string[],
    settings: { inspectPort?: unknown },
    runtime: string,
  ): string[] {
    const flags = [...execArgv];
    if (settings.inspectPort === null) throw badPort(null);
    if (!flags.some((flag) => INSPECT_FLAG.test(flag))) return flags;
    let port: unknown;
    if ("inspectPort" in settings && settings.inspectPort !== undefined) {
      port = typeof settings.inspectPort === "function"
        ? settings.inspectPort()
        : settings.inspectPort;
      if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > MAX_PORT) {
        throw badPort(port);
      }
    } else {
      const base = (process as { debugPort?: number }).debugPort ?? DEFAULT_DEBUG_PORT;
      port = base + this.#offset++;
      if ((port as number) > MAX_PORT) port = (port as number) - MAX_PORT + 1024 - 1;
    }
    if (runtime === "node") return [...flags, `--inspect-port=${port}`];
    return flags.map((flag) => {
      const match = DENO_INSPECT.exec(flag);
      if (!match) return flag;
      const host = match[2]?.includes(":") ? match[2].slice(0, match[2].lastIndexOf(":")) : "";
      return `--inspect${match[1] ?? ""}=${host || "127.0.0.1"}:${port}`;
    });
  }
}

function badPort(port: unknown): RangeError {
  return Object.assign(
    new RangeError(
      `Invalid cluster.settings.inspectPort ${String(port)}: ` +
        "use an integer from 0 to 65535, or a function that returns one",
    ),
    { code: "ERR_SOCKET_BAD_PORT" },
  );
}
