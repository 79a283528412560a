// Ports the ChildProcess (lib/internal/child_process.js) that the primary's `worker.process`
// is in Node: our core owns the real child and its IPC channel, so this is a facade: pid,
// connected, exitCode, signalCode, killed, send, kill, disconnect and the events exit /
// disconnect / message / error go through the core's Worker (the channel carries the core's
// envelopes, which user listeners must not see); stdin, stdout, stderr, stdio, spawnfile,
// spawnargs, ref and unref are the real ChildProcess's (the core's `Worker.process`).

import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import os from "node:os";
import process from "node:process";
import type { Readable, Writable } from "node:stream";
import type { Worker as CoreWorker } from "../mod.ts";
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
  /** True once `kill()` sent a signal. */
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

  /** The real child process (spawned by the time fork() returns; see compat/_primary.ts). */
  get #child(): ChildProcess | undefined {
    return this.#core.process as ChildProcess | undefined;
  }

  /** The worker's stdin, when its stdio makes it a pipe (`null` otherwise). */
  get stdin(): Writable | null {
    return this.#child?.stdin ?? null;
  }

  /** The worker's stdout, when piped (`silent: true`, or `stdio`). */
  get stdout(): Readable | null {
    return this.#child?.stdout ?? null;
  }

  /** The worker's stderr, when piped (`silent: true`, or `stdio`). */
  get stderr(): Readable | null {
    return this.#child?.stderr ?? null;
  }

  /** Every stdio pipe by descriptor, as `settings.stdio` asked for them. */
  get stdio(): ChildProcess["stdio"] | [] {
    return this.#child?.stdio ?? [];
  }

  /** The executable that runs the worker. */
  get spawnfile(): string | undefined {
    return this.#child?.spawnfile;
  }

  /** The worker's full command line. */
  get spawnargs(): string[] {
    return this.#child?.spawnargs ?? [];
  }

  /** Lets the primary exit while the worker runs (the core still owns the channel). */
  unref(): void {
    this.#child?.unref();
  }

  /** Undoes {@linkcode unref}. */
  ref(): void {
    this.#child?.ref();
  }

  /** Whether the IPC channel is open (also before the spawn, when sends are queued). */
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
    sent.then(() => callback?.(null), fail);
    return true;
  }

  /** Sends `signal` (default `SIGTERM`) through the core; false if the process is gone. */
  kill(signal: string | number = "SIGTERM"): boolean {
    const name = signal === 0 ? undefined : signalName(signal);
    if (this.exitCode !== null || this.signalCode !== null || this.#core.pid === undefined) {
      return false;
    }
    if (name === undefined) return true; // signal 0 only asks whether the process is there
    this.#core.kill(name);
    this.killed = true;
    return true;
  }

  /**
   * Closes the IPC channel at once, as Node's ChildProcess does: the worker sees a disconnect
   * it did not ask for and exits. (`worker.disconnect()` is the graceful one.)
   */
  disconnect(): void {
    const child = this.#child;
    if (child?.connected) child.disconnect();
    else this.#onDisconnect();
  }
}

/** A signal's name, for a name or a number; throws on an unknown one, as Node's kill() does. */
function signalName(signal: string | number): string {
  const signals = os.constants.signals as Record<string, number>;
  const name = typeof signal === "number"
    ? Object.keys(signals).find((key) => signals[key] === signal)
    : Object.hasOwn(signals, signal)
    ? signal
    : undefined;
  if (name === undefined) {
    throw Object.assign(new TypeError(`Unknown signal: ${signal}`), { code: "ERR_UNKNOWN_SIGNAL" });
  }
  return name;
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
