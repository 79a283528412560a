// Ports the faux handle that rr() in lib/internal/cluster/child.js gives a worker's server:
// what a server our core attached answers in place of a listen handle of its own (address(),
// close(), ref()/unref()), the interval that keeps the worker alive while it listens, and the
// close of every such server when the worker disconnects (Node's _disconnect() closes them, each
// emitting `close`, before the channel).

import type dgram from "node:dgram";
import type net from "node:net";
import process from "node:process";
import type { BoundServer, ClusterWorker } from "../mod.ts";

/** The servers of this worker that our core attached, and their close. */
export class FauxHandles {
  #open = new Set<() => Promise<void>>();
  /** The closes of the UDP sockets bound in this worker (a subset of `#open`). */
  #alone = new Set<() => Promise<void>>();
  #leaving = false;

  constructor(worker: ClusterWorker) {
    // The core closes its side of each server on disconnect; the servers' own close (and
    // their `close` events) must be over before it closes the channel, so it waits for them.
    worker.on("shutdown", () => {
      this.#leaving = true;
      for (const close of this.#open) worker.waitUntil(close());
    });
    // A channel lost without a disconnect asked for (the worker's own process.disconnect(), a
    // primary gone) ends the worker at once; the UDP sockets it bound alone close first.
    worker.on("disconnect", () => {
      if (this.#leaving) return;
      for (const close of this.#alone) void close();
    });
  }

  /**
   * A UDP socket of this worker (shared through the primary, or bound alone when `exclusive`):
   * closed on disconnect, as Node closes the UDP handles its workers got from the primary.
   */
  trackSocket(socket: dgram.Socket): void {
    let open = true;
    socket.once("close", () => (open = false));
    this.#trackClosable(socket, () => open);
  }

  #trackClosable(
    target: { close(callback: () => void): unknown; once(event: "close", l: () => void): unknown },
    open: () => boolean,
  ): void {
    let closing: Promise<void> | undefined;
    const close = () =>
      closing ??= new Promise<void>((resolve) => {
        this.#open.delete(close);
        this.#alone.delete(close);
        if (!open()) return resolve();
        target.close(() => resolve());
      });
    this.#open.add(close);
    this.#alone.add(close);
    target.once("close", () => {
      this.#open.delete(close);
      this.#alone.delete(close);
    });
  }

  /** Makes `server`, which the core attached as `bound`, look like Node's cluster server. */
  adopt(server: net.Server, bound: BoundServer): void {
    // A listen() answered after this worker began to disconnect: as in Node, whose pending
    // listen never completes once the worker disconnected, it stays silent.
    if (this.#leaving) {
      bound.close().catch(() => {});
      return;
    }
    // A pipe server's address() is its path, as Node's.
    const address = bound.family === "unix"
      ? bound.hostname
      : { address: bound.hostname, family: bound.family, port: bound.port };
    // Node's faux round-robin handle keeps the worker alive with an interval, which
    // server.unref() clears: a worker whose IPC channel is unref'd stays up while it listens.
    let timer: ReturnType<typeof setInterval> | undefined = keepAlive();
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (() => {
        clearInterval(timer);
        timer = undefined;
        this.#open.delete(close);
        return bound.close().catch(() => {}).then(() => void server.emit("close"));
      })();
      return closing;
    };
    this.#open.add(close);
    const proto = Object.getPrototypeOf(server) as net.Server;
    methods(server, {
      // The core makes `server.listening` true until its side closed (adapters/_http_server.ts).
      address:
        () => (server.listening ? typeof address === "string" ? address : { ...address } : null),
      close(callback?: (error?: Error) => void) {
        if (!server.listening) return proto.close.call(server, callback);
        if (typeof callback === "function") {
          // As Node's close() of a server whose handle is gone: it reports that it was not
          // running, once the server closed.
          const error = closing ? notRunning() : undefined;
          server.once("close", () => callback(error));
        }
        close();
        return server;
      },
      ref() {
        if (!closing) timer ??= keepAlive();
        return server;
      },
      unref() {
        clearInterval(timer);
        timer = undefined;
        return server;
      },
    });
    // Unless a disconnect closed it meanwhile.
    process.nextTick(() => server.listening && server.emit("listening"));
  }
}

function keepAlive(): ReturnType<typeof setInterval> {
  return setInterval(() => {}, 2 ** 31 - 1);
}

function notRunning(): Error {
  return Object.assign(new Error("Server is not running."), { code: "ERR_SERVER_NOT_RUNNING" });
}

/** Defines own, replaceable methods on `target` (they shadow the prototype's). */
function methods(target: object, values: Record<string, (...args: never[]) => unknown>): void {
  for (const [name, value] of Object.entries(values)) {
    Object.defineProperty(target, name, { configurable: true, writable: true, value });
  }
}
