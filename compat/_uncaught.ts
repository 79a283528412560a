// Node's EventEmitter lets a listener's exception escape `emit()`, so an assertion or a bug in
// a `node:cluster` event listener ends the process (or reaches `uncaughtException`). Our
// core's Emitter reports listener exceptions and carries on instead. Compat emits Node's
// events from listeners on the core's emitters, so it passes their exceptions on: rethrown
// from a tick of their own, they are uncaught exceptions again.

import process from "node:process";

/** `listener`, with any exception it throws rethrown as an uncaught exception. */
// deno-lint-ignore no-explicit-any
export function uncaught<A extends any[]>(listener: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      listener(...args);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  };
}
