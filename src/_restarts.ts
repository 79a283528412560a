// Restart bookkeeping of one slot: exponential backoff between restarts, reset after a stable
// uptime, and the crash-loop guard (PM2's `max_restarts` within a window, gunicorn's
// worker-boot-error halt).

import type { RespawnOptions } from "./options.ts";

/** One failure: when, and how the worker ended. */
export interface Failure {
  at: number;
  code: number | null;
  signal: string | null;
}

/**
 * Decides when (and whether) a slot restarts. Times come from a monotonic clock.
 *
 * @example Back off, then give up
 * ```ts
 * import { DEFAULTS } from "./options.ts";
 * import { RestartTracker } from "./_restarts.ts";
 * const restarts = new RestartTracker({ ...DEFAULTS.respawn, maxRestarts: 2 });
 * restarts.record({ at: 0, code: 1, signal: null }, 5); // 100 (ms)
 * restarts.record({ at: 10, code: 1, signal: null }, 5); // undefined: a crash loop
 * ```
 */
export class RestartTracker {
  #options: Readonly<Required<RespawnOptions>>;
  #consecutive = 0;
  #failures: Failure[] = [];

  /** `options` come resolved (see `resolveOptions()`): every field set. */
  constructor(options: Readonly<Required<RespawnOptions>>) {
    this.#options = options;
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
