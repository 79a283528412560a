// Restart bookkeeping of one slot: exponential backoff between restarts, reset after a stable
// uptime, and the crash-loop guard (PM2's `max_restarts` within a window, gunicorn's
// worker-boot-error halt).

/** How a slot's worker is restarted after it exits on its own. Every field has a default. */
export interface RespawnOptions {
  /** First delay before a restart (ms). @default 100 */
  base?: number;
  /** Each consecutive failure multiplies the delay by this. @default 2 */
  factor?: number;
  /** The delay never exceeds this (ms). @default 10000 */
  cap?: number;
  /** A worker that lived this long (ms) resets the backoff. @default 10000 */
  stableUptime?: number;
  /** This many failures of one slot inside `window` stop its restarts. @default 5 */
  maxRestarts?: number;
  /** The crash-loop window (ms). @default 60000 */
  window?: number;
}

const DEFAULTS: Required<RespawnOptions> = {
  base: 100,
  factor: 2,
  cap: 10_000,
  stableUptime: 10_000,
  maxRestarts: 5,
  window: 60_000,
};

/** One failure: when, and how the worker ended. */
export interface Failure {
  at: number;
  code: number | null;
  signal: string | null;
}

/** Decides when (and whether) a slot restarts. Times come from a monotonic clock. */
export class RestartTracker {
  #options: Required<RespawnOptions>;
  #consecutive = 0;
  #failures: Failure[] = [];

  constructor(options: RespawnOptions = {}) {
    this.#options = { ...DEFAULTS, ...options };
  }

  /** Failures inside the window, oldest first. */
  get failures(): readonly Failure[] {
    return this.#failures;
  }

  /**
   * Records that the slot's worker ended after `uptime` ms. Returns the delay (ms) before the
   * restart, or `undefined` when the slot is crash-looping and must not restart.
   */
  record(failure: Failure, uptime: number): number | undefined {
    const o = this.#options;
    if (uptime >= o.stableUptime) {
      this.#consecutive = 0;
      this.#failures = [];
    }
    this.#failures = this.#failures.filter((f) => failure.at - f.at <= o.window);
    this.#failures.push(failure);
    if (this.#failures.length >= o.maxRestarts) return undefined;
    const delay = Math.min(o.cap, o.base * o.factor ** this.#consecutive);
    this.#consecutive++;
    return delay;
  }
}
