/**
 * The Deno adapter: Node's `child_process` with an IPC channel (the only Deno API that carries
 * sockets between processes), spawning `deno run` with the primary's own permissions —
 * Deno's `fork()` would grant the child `--allow-all` — and `Deno.serve` with `reusePort` for
 * `serve()` on "reuse-port" (unless `strictReloads`; it needs `--unstable-net`).
 *
 * @module
 */

import process from "node:process";
import type { Adapter, FetchHandler, ServeSource, WorkerServer } from "../src/types.ts";
import { builtin } from "./_builtins.ts";
import { timerMonitor } from "./_metrics_process.ts";
import { denoSender, systemdChannel, uptimeMicros } from "./_sd_notify.ts";
import { explained, nativeServer, whyNotNative } from "./_native_server.ts";
import { NodeApiAdapter } from "./_node_api.ts";

/** The slice of Deno's API we use (inline, so published types need no Deno types). */
interface DenoServer {
  addr: { hostname: string; port: number };
  shutdown(): Promise<void>;
}
interface DenoGlobal {
  version: { deno: string };
  mainModule: string;
  execPath(): string;
  permissions: { querySync(descriptor: { name: string }): { state: string } };
  listenDatagram?: unknown;
  serve(
    options: {
      port: number;
      hostname?: string;
      reusePort: boolean;
      tcpBacklog?: number;
      onListen?: () => void;
      onError?: (error: unknown) => Response;
    },
    handler: FetchHandler,
  ): DenoServer;
}

const PERMISSIONS = ["read", "write", "net", "env", "run", "sys", "ffi", "import"];

class DenoAdapter extends NodeApiAdapter {
  #deno: DenoGlobal;
  constructor(deno: DenoGlobal) {
    super({
      runtime: "deno",
      version: deno.version.deno,
      capabilities: {
        handlePassing: true,
        sharedUdp: true,
        readHead: true, // adapters/_head_reader.ts
        peerAddress: true,
        // Measured on Deno 2.9: sending a net.Server closes the sender's copy, so one listen
        // socket cannot live in several workers.
        sharedListenHandle: {
          reason: "Deno's child_process moves a listen socket to the receiving process " +
            "instead of sharing it",
        },
        reusePort: process.platform === "linux"
          ? true
          : { reason: `SO_REUSEPORT balances connections only on Linux, not ${process.platform}` },
        serialization: ["json", "advanced"],
      },
      command: (o) => ({ file: deno.execPath(), args: ["run", ...o.execArgv, o.exec, ...o.args] }),
      mainModule: () => deno.mainModule ? builtin("node:url").fileURLToPath(deno.mainModule) : undefined,
      inheritedExecArgv: () => inheritedFlags(deno),
      // A timer of ours: the runtime's monitorEventLoopDelay misses blocks (_metrics_process.ts).
      monitor: () => timerMonitor(),
      // Deno.listenDatagram with --unstable-net; else the systemd-notify binary.
      systemd: () => Promise.resolve(systemdChannel(denoSender(deno), uptimeMicros)),
    });
    this.#deno = deno;
  }

  // Deno.serve is Deno's fastest server (×2–3 of node:http fed through the fetch bridge). It
  // binds its own socket, so it serves "reuse-port" only, and shares a port only under
  // --unstable-net: without the flag Deno exits the process at Deno.serve({ reusePort }).
  override async serve(source: ServeSource, handler: FetchHandler): Promise<WorkerServer> {
    if (source.kind === "reuse-port" && !source.lendable && unstableNet(this.#deno)) {
      return nativeServer("Deno.serve", handler, (fetch) => {
        const server = this.#deno.serve({
          port: source.port,
          hostname: source.hostname,
          reusePort: true,
          tcpBacklog: source.backlog,
          onListen: () => {},
        }, fetch);
        return { ...server.addr, stop: () => server.shutdown() };
      }, DENO_STOP_LOSS);
    }
    const reason = whyNotNative("Deno.serve", source, "denoland/deno#6529") ?? NO_UNSTABLE_NET;
    return explained(await super.serve(source, handler), reason);
  }
}

// Measured without this library (docs/policies.md): Deno.serve's shutdown() closes the connections
// it accepted but has not read a request from yet, which denoland/deno#31959 made it close rather
// than wait for; 2-8 per shutdown under 8 new-connection clients, 3-8 under 16, at
// tcp_migrate_req=1 too.
const DENO_STOP_LOSS = "shutdown() closes, unanswered, the connections the server accepted " +
  "and has not read a request from yet (at any net.ipv4.tcp_migrate_req; a Deno bug)";

const NO_UNSTABLE_NET = "Deno.serve shares a port (reusePort) only under --unstable-net: " +
  "node:http serves instead; start the primary with --unstable-net (its workers inherit it) " +
  "to serve with Deno.serve";

function unstableNet(deno: DenoGlobal): boolean {
  // Deno.listenDatagram exists only under --unstable-net.
  return typeof deno.listenDatagram === "function";
}

/**
 * The flags a worker inherits: each permission granted to the primary in full, and
 * `--unstable-net` if on. Partial grants (`--allow-net=host`) cannot be read back from Deno;
 * pass them in `execArgv` explicitly.
 */
function inheritedFlags(deno: DenoGlobal): string[] {
  const flags = PERMISSIONS.filter((name) => {
    try {
      return deno.permissions.querySync({ name }).state === "granted";
    } catch {
      return false;
    }
  }).map((name) => `--allow-${name}`);
  if (unstableNet(deno)) flags.push("--unstable-net");
  return flags;
}

/**
 * Creates the Deno adapter.
 *
 * Internal: `adapters/mod.ts` loads it for this runtime; users get it through `new Cluster()`
 * (the package does not export adapter files).
 *
 * @example What this runtime can do
 * ```ts ignore
 * import { createDenoAdapter } from "./deno.ts";
 * const adapter = createDenoAdapter();
 * console.log(adapter.runtime, adapter.capabilities.sharedListenHandle);
 * ```
 */
export function createDenoAdapter(): Adapter {
  const deno = (globalThis as { Deno?: DenoGlobal }).Deno;
  if (!deno) throw new TypeError("createDenoAdapter() needs the Deno runtime");
  return new DenoAdapter(deno);
}
