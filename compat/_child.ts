// The worker side of node:cluster (lib/internal/cluster/child.js) on top of our core:
// `cluster.worker`, user messages on `process.on("message")`, and `server.listen()` shared
// with the other workers.

import process from "node:process";
import { Cluster } from "../src/primary.ts";
import { installListenHook } from "./_listen_hook.ts";
import { EXITED_AFTER_DISCONNECT } from "./_notice.ts";
import { ENV_COMPAT_ID } from "./_primary.ts";
import { installMessageRouting } from "./_process_messages.ts";
import { Worker, type WorkerProcessLike } from "./worker.ts";

let current: Worker | undefined;

/** This worker's `cluster.worker`; sets up the routing and the listen hook on first call. */
export function workerSide(): Worker {
  if (current) return current;
  const core = Cluster.worker;
  // The id node:cluster gave this worker (see _primary.ts); the core's id otherwise.
  const id = Number(process.env[ENV_COMPAT_ID]) || core.id;
  delete process.env[ENV_COMPAT_ID];
  const tell = (then: () => void) => {
    if (!process.connected) return then();
    process.send!(EXITED_AFTER_DISCONNECT, undefined, {}, () => then());
  };
  const worker: Worker = new Worker(id, process as unknown as WorkerProcessLike, {
    disconnect(w) {
      if (w.state === "disconnecting" || w.state === "destroying") return;
      w.state = "disconnecting";
      w.exitedAfterDisconnect = true;
      // Servers close (in-flight requests finish), then the channel; the core then exits.
      tell(() => void core.disconnect().catch(() => {}));
    },
    destroy(w) {
      if (w.state === "destroying") return;
      w.exitedAfterDisconnect = true;
      w.state = "destroying";
      tell(() => process.exit(0));
    },
    isDead: () => process.exitCode !== undefined && process.exitCode !== null,
  }, "online");
  current = worker;
  installMessageRouting(core);
  process.on("message", (message, handle) => worker.emit("message", message, handle));
  core.on("disconnect", () => worker.emit("disconnect"));
  core.on("error", () => {}); // dropped forged messages: node:cluster has no such event
  installListenHook(core);
  return worker;
}
