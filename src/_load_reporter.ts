// A worker's `load` reports: the open connections of each round-robin address it serves, for the
// primary's least-connections scheduler. Changes are batched, at most one `load` per address
// every `interval` ms (never one message per connection event), and each `newconn` reply carries
// the count at once. A `newconn` settled by the runtime's receipt has no reply: the primary
// counts it as one more, and so does the reporter (`received`), so the two stay in step. The
// timer runs only while an address is watched: it stops when the last round-robin server closes
// and when the primary disconnects (a compat worker that lingers after its disconnect would
// otherwise wake up every 25 ms to send on a closed channel).

/** What a {@linkcode LoadReporter} reads and sends through. */
export interface LoadReporterOptions {
  /** Open connections of the server on `key`; `undefined` once it is gone. */
  connections(key: string): number | undefined;
  /** Sends one `load` message. */
  send(key: string, active: number): void;
  /** Lets the timer not keep the process alive (the adapter's `unrefTimer`). */
  unref(timer: ReturnType<typeof setInterval>): void;
  /** How often changes are sent at most (ms). */
  interval: number;
}

/**
 * Reports the open connections of the watched round-robin addresses.
 *
 * @example
 * ```ts ignore
 * const load = new LoadReporter({ connections, send, unref, interval: LOAD_INTERVAL });
 * load.watch("round-robin|127.0.0.1|8080");
 * load.forget("round-robin|127.0.0.1|8080"); // the server closed: the timer stops
 * ```
 */
export class LoadReporter {
  #options: LoadReporterOptions;
  /** The count last sent per watched key. */
  #reported = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: LoadReporterOptions) {
    this.#options = options;
  }

  /** Whether its timer runs (some address is watched). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts reporting `key` (its server is bound). */
  watch(key: string): void {
    this.#reported.set(key, 0);
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#options.interval);
    this.#options.unref(this.#timer);
  }

  /** Stops reporting `key` (its server closed); the timer stops with the last one. */
  forget(key: string): void {
    this.#reported.delete(key);
    if (this.#reported.size === 0) this.stop();
  }

  /** Stops reporting anything (the primary disconnected). */
  stop(): void {
    this.#reported.clear();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The count a `newconn` reply for `key` carries (and is then the last one reported), or
   * `undefined` for a key not watched.
   */
  replied(key: string): number | undefined {
    if (!this.#reported.has(key)) return undefined;
    const active = this.#options.connections(key);
    if (active !== undefined) this.#reported.set(key, active);
    return active;
  }

  /**
   * A `newconn` for `key` settled by the runtime's receipt (no reply): the primary counted one
   * more connection on this worker, so the last count it has is one more, whether this worker
   * took it or hands it back. The next tick corrects it if that is not the real count.
   */
  received(key: string): void {
    const last = this.#reported.get(key);
    if (last !== undefined) this.#reported.set(key, last + 1);
  }

  #tick(): void {
    for (const [key, last] of this.#reported) {
      const active = this.#options.connections(key) ?? 0;
      if (active === last) continue;
      this.#reported.set(key, active);
      this.#options.send(key, active);
    }
  }
}
