// A worker's own `process.disconnect()` on Deno, as Node's target.disconnect() in
// lib/internal/child_process.js behaves: what the worker sent before it still reaches the
// primary. Node and Bun write an IPC message at once, so `process.send(m); process.disconnect();`
// delivers `m` there. Deno writes from its event loop, and its disconnect() drops what is not
// written yet, without calling the send's callback (measured on Deno 2.9.6 with
// node:child_process alone; the same loss with `process.exit()` is denoland/deno#33085). So on
// Deno the disconnect sends compat's FLUSH message (_wire.ts, ignored by the primary) with a
// callback, and disconnects once that callback ran: the channel writes in order, so every
// earlier message is written by then. Not on Node: its channel calls process.disconnect()
// itself when the primary closes it, and that call must not wait.
// While the FLUSH is under way the worker looks disconnected, as Node's is at once after
// disconnect(): `process.connected` reads false (an own accessor on process for that window;
// Deno keeps `connected` as a plain data property), so Deno's own send() fails every later
// message with ERR_IPC_CHANNEL_CLOSED (callback, or an `error` event) instead of writing it,
// and its read loop stops. What the runtime writes to `connected` meanwhile (the primary closed
// the channel) is kept and put back before the real disconnect.

import process from "node:process";
import { FLUSH } from "./_wire.ts";

type Send = (...args: unknown[]) => boolean;

const INSTALLED = Symbol("@x/cluster/compat.disconnect");

/** Wraps this worker's `process.disconnect` (once), on Deno only (see the module's comment). */
export function installDisconnectFlush(): void {
  const original = process.disconnect as (() => void) | undefined;
  if (!("Deno" in globalThis)) return;
  if (typeof original !== "function" || Object.hasOwn(original, INSTALLED)) return;
  let flushing = false;
  const disconnect = function (this: unknown): void {
    if (flushing) {
      // Node's answer to a second disconnect(): the channel is already (being) closed.
      const error = new Error("IPC channel is already disconnected");
      process.emit(
        "error" as never,
        Object.assign(error, { code: "ERR_IPC_DISCONNECTED" }) as never,
      );
      return;
    }
    if (!process.connected) return original.call(this); // the runtime's own answer
    flushing = true;
    let hidden: { connected: boolean } | undefined;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      process.off("disconnect", done);
      const connected = hidden ? reveal(hidden) : process.connected;
      hidden = undefined;
      if (connected) original.call(process);
    };
    // The channel may close meanwhile (the primary closed it): then there is nothing to wait for.
    process.once("disconnect", done);
    try {
      // Sent while still connected: Deno's send() checks `connected` before it queues.
      (process.send as Send)(FLUSH, undefined, {}, done);
    } catch {
      return done();
    }
    if (!settled && process.connected) hidden = hide();
  };
  Object.defineProperty(disconnect, INSTALLED, { value: true });
  process.disconnect = disconnect as typeof process.disconnect;
}

/** Makes `process.connected` read false; returns where the runtime's writes to it go. */
function hide(): { connected: boolean } {
  const state = { connected: process.connected === true };
  Object.defineProperty(process, "connected", {
    configurable: true,
    enumerable: true,
    get: () => false,
    set: (value: boolean) => void (state.connected = value),
  });
  return state;
}

/** Puts the runtime's plain `connected` property back; returns its value. */
function reveal(state: { connected: boolean }): boolean {
  Object.defineProperty(process, "connected", {
    configurable: true,
    enumerable: true,
    writable: true,
    value: state.connected,
  });
  return state.connected;
}
