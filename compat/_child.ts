// Ports lib/internal/cluster/child.js on top of our core: `cluster.worker` with the worker's
// disconnect()/destroy(), user messages on `process.on("message")` (_process_messages.ts), the
// sockets it sends (_process_send.ts), and `server.listen()` shared with the other workers
// (_listen_hook.ts, Node's _getServer).

import process from "node:process";
import { Cluster, type ClusterWorker } from "../mod.ts";
import { adapterNow } from "../internal.ts";
import { installListenHook } from "./_listen_hook.ts";
import { installDisconnectFlush } from "./_process_disconnect.ts";
import { installMessageRouting } from "./_process_messages.ts";
import { installSendRouting } from "./_process_send.ts";
import { uncaught } from "./_uncaught.ts";
import { compatMessage, ENV_COMPAT_ID, LEAVING } from "./_wire.ts";
import { bindSide, Worker, type WorkerProcessLike } from "./worker.ts";

let current: Worker | undefined;

/** This worker's `cluster.worker`; sets up the routing and the listen hook on first call. */
export function workerSide(): Worker {
  if (current) return current;
  const core = Cluster.worker;
  // The id node:cluster gave this worker (see _primary.ts); the core's id otherwise.
  const id = Number(process.env[ENV_COMPAT_ID]) || core.id;
  delete process.env[ENV_COMPAT_ID];
  // As Node's worker, online before the program runs (a program that never yields, such as
  // `while (true);`, is still online and can be killed). Not on Deno: it writes IPC messages
  // from its event loop, so `online` would not leave a busy worker anyway, and a process
  // `error` there closes the channel (adapters/_node_api.ts), which the program may emit itself.
  if (!("Deno" in globalThis)) core.connectNow(adapterNow());
  // Before the Worker adds its `message` listener to process, so that it gets user messages.
  installMessageRouting(core);
  installSendRouting();
  installDisconnectFlush();
  const leave = leaving(core);
  const worker: Worker = new Worker({
    id,
    process: process as unknown as WorkerProcessLike,
    state: "online",
  });
  bindSide(worker, {
    disconnect(w) {
      if (w.state === "disconnecting" || w.state === "destroying") return;
      w.state = "disconnecting";
      w.exitedAfterDisconnect = true;
      // Servers close (in-flight requests finish), then the channel; the core then exits.
      leave().then(() => core.disconnect()).catch(() => {});
    },
    destroy(w) {
      if (w.state === "destroying") return;
      w.exitedAfterDisconnect = true;
      w.state = "destroying";
      leave().then(() => process.exit(0));
    },
  });
  current = worker;
  // As Node's worker: after a disconnect it asked for or was asked for, it ends by itself when
  // nothing keeps it alive; a channel lost otherwise still ends it at once.
  core.lingerAfterDisconnect = true;
  core.on("disconnect", uncaught(() => worker.emit("disconnect")));
  core.on("error", () => {}); // dropped forged messages: node:cluster has no such event
  installListenHook(core);
  return worker;
}

/**
 * Node's `send({ act: "exitedAfterDisconnect" }, cb)`: tells the primary that this worker leaves
 * on its own, and resolves once the primary acknowledged it (or the channel is gone), so that
 * the primary records `exitedAfterDisconnect` before it can see the exit. Sent once.
 */
function leaving(core: ClusterWorker): () => Promise<void> {
  let told: Promise<void> | undefined;
  return () => {
    told ??= new Promise<void>((resolve) => {
      if (!process.connected) return resolve();
      const onMessage = (message: unknown) => {
        if (compatMessage(message) !== "leaving-ack") return;
        core.off("message", onMessage);
        resolve();
      };
      core.on("message", onMessage);
      core.once("disconnect", resolve);
      core.send(LEAVING).catch(() => resolve());
    });
    return told;
  };
}
