// Ports the message routing of setupChannel() in lib/internal/child_process.js for a worker:
// `process.on("message")` sees what node:cluster shows there, the user's messages, never the
// cluster's own. Node routes its internal messages (cmd "NODE_…") to "internalMessage". Here the
// core's listener (added by the adapter's connectParent, marked CORE_LISTENER) gets every
// message, validates and unwraps it; each listener the user adds is wrapped so that it ignores
// the raw message and gets the user messages from the core's `message` event instead. (Bun
// delivers IPC messages without calling `process.emit`, so patching emit would not do.)

import process from "node:process";
import type { ClusterWorker } from "../mod.ts";
import { CORE_LISTENER } from "../internal.ts";
import { uncaught } from "./_uncaught.ts";
import { compatMessage } from "./_wire.ts";

// deno-lint-ignore no-explicit-any
type Listener = ((...args: any[]) => void) & { listener?: Listener; [CORE_LISTENER]?: true };

const METHODS = ["on", "addListener", "prependListener", "once", "prependOnceListener"];

/** Routes the worker's IPC messages through the core before the user's listeners see them. */
export function installMessageRouting(worker: ClusterWorker): void {
  // Listeners that were there before us (the core's, if it connected already) see raw messages.
  const before = process.rawListeners("message") as Listener[];
  const raw = new WeakSet<Listener>(before);
  // Until the core connects (its adapter loads asynchronously), messages that arrive would reach
  // only the wrapped user listeners, which ignore raw messages: the primary may send right
  // after fork(). They are kept here and replayed to the core's listener, in order.
  let early: Listener | undefined;
  const backlog: unknown[][] = [];
  if (!before.some((listener) => listener[CORE_LISTENER])) {
    early = (...args: unknown[]) => void backlog.push(args);
    raw.add(early);
    process.on("message", early);
  }
  let delivering = false;
  const proc = process as unknown as Record<string, Listener>;
  for (const method of METHODS) {
    const original = proc[method];
    proc[method] = function (this: unknown, event: unknown, listener: Listener) {
      if (event !== "message" || typeof listener !== "function") {
        return original.call(this, event, listener);
      }
      if (listener[CORE_LISTENER]) {
        raw.add(listener);
        const result = original.call(this, event, listener);
        if (early) process.off("message", early);
        early = undefined;
        // After the core finished connecting (it adds its listener midway), before any I/O.
        queueMicrotask(() => {
          for (const args of backlog.splice(0)) listener.apply(process, args);
        });
        return result;
      }
      const wrapped: Listener = function (this: unknown, ...args: unknown[]) {
        if (delivering) listener.apply(this, args);
      };
      // removeListener(listener) finds it, as it finds once() wrappers.
      wrapped.listener = listener;
      return original.call(this, event, wrapped);
    };
  }
  worker.on("message", uncaught((message, handle) => {
    if (compatMessage(message)) return; // compat's own (_wire.ts)
    delivering = true;
    try {
      for (const listener of process.rawListeners("message") as Listener[]) {
        if (!raw.has(listener)) listener.call(process, message, handle);
      }
    } finally {
      delivering = false;
    }
  }));
}
