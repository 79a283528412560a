/**
 * The Bun adapter: Node's `child_process` (Bun's fork passes sockets and servers; `Bun.spawn`'s
 * ipc option cannot carry handles), and `Bun.serve` with `reusePort` for `serve()` on
 * "reuse-port" (unless `strictReloads`).
 *
 * @module
 */

import process from "node:process";
import type { Adapter, FetchHandler, ServeSource, WorkerServer } from "../src/types.ts";
import { timerMonitor } from "./_metrics_process.ts";
import { bunSender, systemdChannel, uptimeMicros } from "./_sd_notify.ts";
import { explained, nativeServer, whyNotNative } from "./_native_server.ts";
import { NodeApiAdapter } from "./_node_api.ts";

/** The slice of Bun's API we use (inline, so published types need no `bun-types`). */
interface BunServer {
  port: number;
  hostname: string;
  stop(closeActiveConnections?: boolean): Promise<void>;
}
interface BunGlobal {
  version: string;
  main: string;
  serve(options: {
    port: number;
    hostname?: string;
    reusePort: boolean;
    fetch: FetchHandler;
  }): BunServer;
}

class BunAdapter extends NodeApiAdapter {
  #bun: BunGlobal;
  constructor(bun: BunGlobal) {
    super({
      runtime: "bun",
      version: bun.version,
      capabilities: {
        handlePassing: true,
        sharedUdp: true,
        readHead: true, // adapters/_head_reader.ts
        peerAddress: true,
        sharedListenHandle: true,
        reusePort: process.platform === "linux"
          ? true
          : { reason: `SO_REUSEPORT balances connections only on Linux, not ${process.platform}` },
        serialization: ["json", "advanced"],
      },
      command: (o) => ({ file: process.execPath, args: [...o.execArgv, o.exec, ...o.args] }),
      mainModule: () => bun.main,
      inheritedExecArgv: () => [...process.execArgv],
      // A timer of ours: the runtime's monitorEventLoopDelay misses blocks (_metrics_process.ts).
      monitor: () => timerMonitor(),
      // libc's sendto through bun:ffi, loaded only when $NOTIFY_SOCKET is set.
      systemd: () =>
        Promise.resolve(
          process.env.NOTIFY_SOCKET ? systemdChannel(bunSender(), uptimeMicros) : undefined,
        ),
    });
    this.#bun = bun;
  }

  // Bun.serve is Bun's fastest server (×2–3 of node:http fed through the fetch bridge). It
  // binds its own socket, so it serves "reuse-port" only.
  override async serve(source: ServeSource, handler: FetchHandler): Promise<WorkerServer> {
    if (source.kind === "reuse-port" && !source.lendable) {
      return nativeServer("Bun.serve", handler, (fetch) => {
        const server = this.#bun.serve({
          port: source.port,
          hostname: source.hostname,
          reusePort: true,
          fetch,
        });
        return { hostname: server.hostname, port: server.port, stop: () => server.stop(false) };
      });
    }
    const reason = whyNotNative("Bun.serve", source, "oven-sh/bun#36491");
    return explained(await super.serve(source, handler), reason);
  }
}

/**
 * Creates the Bun adapter.
 *
 * Internal: `adapters/mod.ts` loads it for this runtime; users get it through `new Cluster()`
 * (the package does not export adapter files).
 *
 * @example What this runtime can do
 * ```ts ignore
 * import { createBunAdapter } from "./bun.ts";
 * const adapter = createBunAdapter();
 * console.log(adapter.runtime, adapter.capabilities.reusePort);
 * ```
 */
export function createBunAdapter(): Adapter {
  const bun = (globalThis as { Bun?: BunGlobal }).Bun;
  if (!bun) throw new TypeError("createBunAdapter() needs the Bun runtime");
  return new BunAdapter(bun);
}
