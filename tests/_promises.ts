// Promise helpers for the unit tests of the core (fakes settle within microtasks).

/**
 * Lets every pending promise callback run (one macrotask turn).
 *
 * @example
 * ```ts
 * import { flush } from "./_promises.ts";
 *
 * let done = false;
 * Promise.resolve().then(() => (done = true));
 * await flush(); // done === true
 * ```
 */
export function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Awaits a promise of the code under test, failing instead of hanging when it never settles
 * (the fakes here settle within microtasks; the timer is always cleared).
 *
 * @example
 * ```ts
 * import { settles } from "./_promises.ts";
 *
 * const value = await settles(Promise.resolve(1)); // 1; a promise that never settles throws
 * ```
 */
export async function settles<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the promise did not settle")), 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What {@linkcode track} knows about a promise so far. */
export interface Tracked<T> {
  settled: boolean;
  value?: T;
  error?: unknown;
}

/**
 * Tracks whether a promise settled, without leaving a rejection unhandled.
 *
 * @example
 * ```ts
 * import { flush, track } from "./_promises.ts";
 *
 * const state = track(Promise.reject(new Error("no")));
 * await flush(); // state.settled === true, state.error.message === "no"
 * ```
 */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const state: Tracked<T> = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** A promise with its resolve and reject exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

/**
 * A promise with its resolve/reject exposed.
 *
 * @example
 * ```ts
 * import { deferred } from "./_promises.ts";
 *
 * const ready = deferred<number>();
 * setTimeout(() => ready.resolve(1), 10);
 * await ready.promise; // 1
 * ```
 */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void, reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
