// When a round-robin worker may have more than one handoff outstanding. Node's own cluster
// gives each worker one and waits for its answer; where the worker answers each handoff itself
// (Deno, Bun) one at a time cannot carry a backlog, and `maxInFlight` at once promised up to that
// many connections to a worker as its loop blocked. So a worker gets more than one only once
// connections have waited `spillAfter` ms for a worker with none, and only while its own oldest
// handoff is younger than that.
//
// Measured (issue #10, Deno, a worker stalled 200 ms every second, 1,793 connections/s open
// loop, after a 2.5 s warm-up): with 4 in flight from the start p999 was the whole stall
// (201-202 ms), since up to 4 connections were promised to the worker as it stalled; with 1,
// 27-43 ms (Deno's own SCHED_RR 20-31), but the first second after start queued for 50-120 ms
// (cold answers are slow). With this gate: p999 42-213 ms at a 0.5 s warm-up (3 runs), 17 and
// 202 ms after 2.5 s (2 runs); the bench at a69374c, 1,064/s: 12.7 ms (Deno's SCHED_RR 10.5).

/** How long (ms) connections wait for a worker without a handoff before workers get more. */
export const SPILL_AFTER_MS = 2;

/** Decides, per drain of a round-robin queue, how many handoffs each worker may have. */
export class SpillGate {
  #max: number;
  #after: number;
  #now: () => number;
  #drain: () => void;
  /** The limit of the current drain: 1, or `max` while a backlog has waited long enough. */
  #limit = 1;
  /** Since when connections have waited (undefined while none waits). */
  #since: number | undefined;
  /** Drains once the wait reaches `after` when no answer or arrival did it before. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * @param max the most handoffs a worker may have (`maxInFlight`)
   * @param after `spillAfter` in ms; 0: `max` at once
   * @param now the handle's monotonic clock (ms)
   * @param drain runs the handle's drain when the wait is over
   */
  constructor(max: number, after: number, now: () => number, drain: () => void) {
    this.#max = max;
    this.#after = after;
    this.#now = now;
    this.#drain = drain;
  }

  /**
   * Starts a drain: fixes its limit.
   *
   * @example
   * ```ts
   * const gate = new SpillGate(4, 2, () => performance.now(), () => {});
   * gate.begin(); // 1: nothing has waited yet
   * ```
   */
  begin(): void {
    const since = this.#since, after = this.#after;
    const hold = after > 0 && (since === undefined || this.#now() - since < after);
    this.#limit = this.#max > 1 && hold ? 1 : this.#max;
  }

  /**
   * Ends a drain with `waiting` connections left: a backlog starts (or goes on) waiting, and a
   * timer drains again once it waited `spillAfter`; none left ends it.
   *
   * @example
   * ```ts
   * const gate = new SpillGate(4, 2, () => performance.now(), () => {});
   * gate.begin();
   * gate.end(3); // 3 connections wait: in 2 ms the gate drains again, and spills
   * gate.close();
   * ```
   */
  end(waiting: number): void {
    if (waiting === 0) return void (this.#since = undefined);
    if (this.#limit >= this.#max) return;
    const since = this.#since ??= this.#now();
    if (this.#timer !== undefined || this.#closed) return;
    const timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) this.#drain();
    }, Math.max(1, this.#after - (this.#now() - since)));
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  /**
   * How many more handoffs a worker with `inFlight` outstanding, the oldest sent at `oldest`,
   * may take in this drain: none beyond its first while that one has waited `spillAfter` (a
   * stalling worker must not collect a backlog before it counts as stalled).
   *
   * @example
   * ```ts
   * const gate = new SpillGate(4, 2, () => 10, () => {});
   * gate.begin();
   * gate.room(0, undefined, 10); // 1
   * ```
   */
  room(inFlight: number, oldest: number | undefined, now: number): number {
    if (inFlight === 0) return this.#limit;
    if (this.#after > 0 && oldest !== undefined && now - oldest >= this.#after) return 0;
    return this.#limit - inFlight;
  }

  /**
   * Stops the timer for good.
   *
   * @example
   * ```ts
   * new SpillGate(4, 2, () => performance.now(), () => {}).close();
   * ```
   */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
