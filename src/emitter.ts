// A small typed event emitter: web-standard code only, so the core stays runtime-agnostic.
// Differs from node:events on purpose: a throwing listener never breaks the emitter's caller,
// and an "error" with no listener is reported, not thrown (a broken worker must not take the
// primary down).
//
// Listener lists are copied when they change (on/off), never when an event is emitted: every IPC
// message is one or two emits, and copying the list at each (as before) was an allocation per
// message on the path issue #10 measures. A listener added or removed during an emit therefore
// takes effect from the next emit, as with node:events.

// deno-lint-ignore no-explicit-any
type Listener = (...args: any[]) => void;

/** Maps event names to their listener argument tuples. */
export type EventMap = { [event: string]: unknown[] };

/**
 * Typed `on`/`once`/`off`/`emit`, the base of `Cluster`, `Worker` and `ClusterWorker`.
 *
 * @example Typed events
 * ```ts
 * import { Emitter } from "@x/cluster";
 * const events = new Emitter<{ tick: [n: number] }>();
 * events.on("tick", (n) => console.log(n));
 * events.emit("tick", 1);
 * ```
 */
export class Emitter<E extends EventMap> {
  #listeners = new Map<keyof E, Listener[]>();

  /** Adds a listener. */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const list = this.#listeners.get(event);
    this.#listeners.set(event, list ? [...list, listener] : [listener]);
    return this;
  }

  /** Adds a listener that is removed after its first call. */
  once<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const wrapper = Object.assign((...args: E[K]): void => {
      this.off(event, wrapper);
      listener(...args);
    }, { listener });
    return this.on(event, wrapper);
  }

  /** Removes a listener. */
  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const list = this.#listeners.get(event);
    if (!list) return this;
    // A listener added with once() is stored wrapped; off() finds it by the original too.
    const index = list.findIndex((l) =>
      l === listener || (l as { listener?: unknown }).listener === listener
    );
    if (index === -1) return this;
    if (list.length === 1) this.#listeners.delete(event);
    else this.#listeners.set(event, list.filter((_, i) => i !== index));
    return this;
  }

  /** Number of listeners for `event`. */
  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /**
   * Calls every listener of `event` in order. A listener that throws is reported via
   * `reportError` (or `console.error`) and the others still run.
   */
  emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) {
      if (event === "error") reportUnhandled(args[0]);
      return false;
    }
    // `list` is never changed in place (see the file's header): no copy needed.
    for (let i = 0; i < list.length; i++) {
      try {
        list[i](...args);
      } catch (error) {
        reportUnhandled(error);
      }
    }
    return true;
  }
}

function reportUnhandled(error: unknown): void {
  console.error("[@x/cluster]", error);
}
