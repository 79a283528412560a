// The primary's `worker.process`: Node gives a ChildProcess; our core owns the real child and
// exposes only its pid, so this is a facade with the ChildProcess members cluster code uses
// (pid, connected, exitCode, signalCode, killed, send, kill, disconnect and the events
// exit / disconnect / message / error). Missing: stdin/stdout/stderr/stdio, spawnfile,
// spawnargs, ref/unref (see the README's compatibility table).

import { EventEmitter } from "node:events";
import process from "node:process";
import type { Worker as CoreWorker } from "../src/worker.ts";
import { handleError } from "./_handles.ts";

type SendCallback = (error: Error | null) => void;

/** A closed-channel error, as Node's `ERR_IPC_CHANNEL_CLOSED`. */
export function channelClosed(): Error {
  return Object.assign(new Error("Channel closed"), { code: "ERR_IPC_CHANNEL_CLOSED" });
}

/** Splits `send(message, handle?, options?, callback?)` like Node's `child.send`. */
export function sendArgs(
  args: unknown[],
): { message: unknown; handle: unknown; callback: SendCallback | undefined } {
  const [message, ...rest] = args;
  while (rest.length > 0 && rest[rest.length - 1] === undefined) rest.pop();
  const callback = typeof rest[rest.length - 1] === "function"
    ? rest.pop() as SendCallback
    : undefined;
  return { message, handle: rest[0] ?? undefined, callback };
}

/** The primary's view of a worker's process. */
export class WorkerProcess extends EventEmitter {
  /** Exit code, once exited normally; `null` before. */
  exitCode: number | null = null;
  /** The signal that killed it, if one did; `null` otherwise. */
  signalCode: string | null = null;
  /** True once `kill()` delivered a signal. */
  killed = false;
  #core: CoreWorker;
  #onDisconnect: () => void;

  constructor(core: CoreWorker, onDisconnect: () => void) {
    super();
    this.#core = core;
    this.#onDisconnect = onDisconnect;
  }

  /** The OS process id (`undefined` until spawned). */
  get pid(): number | undefined {
    return this.#core.pid;
  }

  /** Whether the IPC channel is open. */
  get connected(): boolean {
    return this.#core.isConnected() || (this.#core.state === "none" && this.exitCode === null &&
      this.signalCode === null);
  }

  /** `send(message, handle?, options?, callback?)`, returning false once the channel closed. */
  send(...args: unknown[]): boolean {
    const { message, handle, callback } = sendArgs(args);
    const fail = (error: Error) => {
      if (callback) callback(error);
      else this.emit("error", error);
    };
    if (message === undefined) throw new TypeError('The "message" argument must be specified');
    if (!this.connected) {
      process.nextTick(fail, channelClosed());
      return false;
    }
    const refused = handleError(handle);
    if (refused) {
      process.nextTick(fail, refused);
      return false;
    }
    const sent = this.#core.send(message, handle);
    if (handle !== undefined) holdOpenUntilSent(handle, sent);
    sent.then(
      () => callback?.(null),
      (error: Error) => fail(error),
    );
    return true;
  }

  /** Sends `signal` (default `SIGTERM`); false if the process is already gone. */
  kill(signal?: string | number): boolean {
    if (this.exitCode !== null || this.signalCode !== null || this.#core.pid === undefined) {
      return false;
    }
    try {
      process.kill(this.#core.pid, signal ?? "SIGTERM");
      this.killed = true;
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the IPC channel (as the worker's `disconnect()` does). */
  disconnect(): void {
    this.#onDisconnect();
  }
}

const sending = new WeakMap<object, Set<Promise<unknown>>>();

/**
 * Node duplicates a sent handle at once, so `child.send("server", server); server.close()` (the
 * seeds do this) still delivers a working server; Bun sends later, after the close. So a
 * server's close() waits here until its sends are written.
 */
function holdOpenUntilSent(handle: unknown, sent: Promise<unknown>): void {
  const server = handle as { close?: (...args: unknown[]) => unknown; listening?: boolean };
  if (typeof server !== "object" || server === null || typeof server.close !== "function") return;
  let pending = sending.get(server);
  if (!pending) {
    pending = new Set();
    sending.set(server, pending);
    const close = server.close;
    const waiting = pending;
    server.close = function (this: unknown, ...args: unknown[]) {
      if (waiting.size === 0) return close.apply(this, args);
      Promise.allSettled([...waiting]).then(() => close.apply(this, args));
      return this;
    };
  }
  pending.add(sent);
  const done = () => pending.delete(sent);
  sent.then(done, done);
}
