/**
 * The Node.js adapter: `child_process` spawn with an IPC channel (Node's own UDS/named-pipe
 * channel, which carries handles), `node:net` for listen sockets, `node:http` for serving.
 *
 * @module
 */

import process from "node:process";
import type { Adapter, Capabilities } from "../src/types.ts";
import { timerMonitor } from "./_metrics_process.ts";
import { systemdChannel } from "./_sd_notify.ts";
import { NodeApiAdapter } from "./_node_api.ts";

/** Node's `net` got `reusePort` in 22.12 and 23.1. */
function reusePort(version: string): Capabilities["reusePort"] {
  if (process.platform !== "linux") {
    return { reason: `SO_REUSEPORT balances connections only on Linux, not ${process.platform}` };
  }
  const [major, minor] = version.split(".").map(Number);
  if (major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)) return true;
  return { reason: `node:net supports reusePort from Node 22.12 / 23.1, this is ${version}` };
}

/**
 * Creates the Node.js adapter.
 *
 * Internal: `adapters/mod.ts` loads it for this runtime; users get it through `new Cluster()`
 * (the package does not export adapter files).
 *
 * @example What this runtime can do
 * ```ts ignore
 * import { createNodeAdapter } from "./node.ts";
 * const adapter = createNodeAdapter();
 * console.log(adapter.runtime, adapter.capabilities.reusePort);
 * ```
 */
export function createNodeAdapter(): Adapter {
  const version = process.versions.node;
  return new NodeApiAdapter({
    runtime: "node",
    version,
    capabilities: {
      handlePassing: true,
      sharedUdp: true,
      readHead: true, // adapters/_head_reader.ts
      peerAddress: true,
      // Node acknowledges each handle (NODE_HANDLE_ACK): a worker answers only a refused
      // connection (adapters/_ipc.ts; measured: docs/performance.md).
      handoffReceipts: true,
      sharedListenHandle: true,
      reusePort: reusePort(version),
      serialization: ["json", "advanced"],
    },
    command: (o) => ({ file: process.execPath, args: [...o.execArgv, o.exec, ...o.args] }),
    mainModule: () => process.argv[1],
    inheritedExecArgv: () => [...process.execArgv],
    // A timer of ours: the runtime's monitorEventLoopDelay misses blocks (_metrics_process.ts).
    monitor: () => timerMonitor(),
    // No unix datagram socket on Node (nodejs/node#61933): the systemd-notify binary.
    systemd: () => Promise.resolve(systemdChannel(undefined)),
  });
}
