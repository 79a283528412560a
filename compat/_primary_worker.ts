// Ports the per-worker half of lib/internal/cluster/primary.js: the listeners cluster.fork()
// adds to a new worker and its process, and the primary's Worker.prototype.disconnect/destroy.
// Here one core Worker becomes node:cluster's Worker, with its `worker.process`; the core's
// events are re-emitted in Node's order.

import type { EventEmitter } from "node:events";
import { ClusterError, type Worker as CoreWorker, type WorkerEvents } from "../mod.ts";
import { uncaught } from "./_uncaught.ts";
import { compatMessage, LEAVING_ACK } from "./_wire.ts";
import { WorkerProcess } from "./_worker_process.ts";
import { bindSide, Worker } from "./worker.ts";

/** Node's `listening` address: `address` is `null` when listen() named no host. */
export interface NodeAddress {
  /** 4 or 6 (4 when no host was named, as Node reports `listen(port)`); -1 for a pipe. */
  addressType: 4 | 6 | -1;
  /** The host the server listens on (a pipe's path); `null` when none was named. */
  address: string | null;
  /** The real port (never 0); -1 for a pipe. */
  port: number;
  /** Always `undefined`: servers listen on ports, never on inherited fds. */
  fd: undefined;
}

/** What a wrapped worker needs from the primary side. */
export interface WorkerHooks {
  /** The `cluster` object: Node's cluster events are emitted on it. */
  readonly cluster: EventEmitter;
  /** Drops the worker from `cluster.workers` (Node's removeWorker). */
  remove(worker: Worker): void;
  /** The worker disconnected or exited (`cluster.disconnect(cb)` waits for that). */
  changed(): void;
}

/** node:cluster's Worker `id` for the core's worker `core`, wired as cluster.fork() wires it. */
export function wrapWorker(id: number, core: CoreWorker, hooks: WorkerHooks): Worker {
  const { cluster } = hooks;
  const proc: WorkerProcess = new WorkerProcess(core, () => worker.disconnect());
  const worker: Worker = new Worker({ id, process: proc });
  bindSide(worker, {
    disconnect(w) {
      // As Node: exitedAfterDisconnect at once, out of `workers` at once, then the request.
      w.exitedAfterDisconnect = true;
      hooks.remove(w);
      // Node's request waits in the channel until the worker reads it; our core drops a
      // disconnect() made before the worker connected, so it is made once it is online.
      if (core.state === "none") core.once("online", () => void core.disconnect().catch(() => {}));
      else core.disconnect().catch(() => {});
    },
    destroy(_w, signal) {
      // Node closes the channel first and kills on its `disconnect`. Our core has no abrupt
      // channel close (its disconnect is graceful), and the channel closes with the process.
      proc.kill(signal ?? "SIGTERM");
    },
  });
  // Node's worker says `online` before its program runs; ours once our core connected, after
  // what the program sent meanwhile with process.send(). Those messages wait for `online`.
  let early: [message: unknown, handle: unknown][] | undefined = [];
  const flush = () => {
    const messages = early ?? [];
    early = undefined;
    for (const [message, handle] of messages) proc.emit("message", message, handle);
  };
  // Node's Worker forwards its messages to the cluster from a listener added at fork time.
  worker.on("message", (message, handle) => cluster.emit("message", worker, message, handle));
  core.on(
    "online",
    uncaught(() => {
      worker.state = "online";
      worker.emit("online");
      cluster.emit("online", worker);
      flush();
    }),
  );
  core.on(
    "listening",
    uncaught((address) => {
      worker.state = "listening";
      const info = nodeAddress(address);
      worker.emit("listening", info);
      cluster.emit("listening", worker, info);
    }),
  );
  // In Node these are listeners on worker.process added by fork(): they run before the ones
  // user code adds to worker.process, so `proc` emits last. (The Worker's own listener on
  // `proc` re-emits messages on the worker, and from there on the cluster, first.)
  core.on(
    "message",
    uncaught((message, handle) => {
      if (compatMessage(message) === "leaving") {
        // The worker's own disconnect()/destroy() (Node's exitedAfterDisconnect act): it waits
        // for this ack before it leaves, so its exit cannot be reported first.
        worker.exitedAfterDisconnect = true;
        core.send(LEAVING_ACK).catch(() => {});
        return;
      }
      if (compatMessage(message) === "flush") return; // a worker's process.disconnect()
      if (early) early.push([message, handle]);
      else proc.emit("message", message, handle);
    }),
  );
  core.on(
    "disconnect",
    uncaught(() => {
      flush();
      if (worker.isDead()) hooks.remove(worker);
      worker.exitedAfterDisconnect = !!worker.exitedAfterDisconnect;
      worker.state = "disconnected";
      worker.emit("disconnect");
      cluster.emit("disconnect", worker);
      proc.emit("disconnect");
      hooks.changed();
    }),
  );
  core.on(
    "exit",
    uncaught((code, signal) => {
      flush();
      proc.exitCode = signal === null ? code : null;
      proc.signalCode = signal;
      if (!worker.isConnected()) hooks.remove(worker);
      worker.exitedAfterDisconnect = !!worker.exitedAfterDisconnect;
      worker.state = "dead";
      worker.emit("exit", code, signal);
      cluster.emit("exit", worker, code, signal);
      proc.emit("exit", code, signal);
      hooks.changed();
    }),
  );
  core.on(
    "error",
    uncaught((error) => {
      // Our exit reports (WORKER_EXITED, …) are plain exits in Node; spawn errors are errors
      // of the process, which the Worker re-emits.
      if (!(error instanceof ClusterError)) proc.emit("error", error);
    }),
  );
  return worker;
}

/** Our address as Node's `listening` event gives it. */
export function nodeAddress(address: WorkerEvents["listening"][0]): NodeAddress {
  // Node reports what listen() named (lib/net.js listenInCluster()): no host as IPv4 with a
  // null address, although it binds "::"; a host as the address it resolved to.
  const named = address.requested !== null;
  if (address.family === "unix") {
    return { addressType: -1, address: address.hostname, port: -1, fd: undefined };
  }
  return {
    addressType: named && address.family === "IPv6" ? 6 : 4,
    address: named ? address.hostname : null,
    port: address.port,
    fd: undefined,
  };
}
