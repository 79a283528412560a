/**
 * "Power of two choices": two candidates drawn at random, the less loaded one wins. Constant
 * time at any worker count, and nearly as even as least-connections without every connection
 * herding onto the one worker whose count was last seen lowest.
 *
 * @module
 */

import { load } from "./scheduler_least_connections.ts";
import type { Scheduler } from "./scheduler_types.ts";

/**
 * The power-of-two-choices scheduler.
 *
 * @param random Uniform in [0, 1), replaceable in tests. @default Math.random
 *
 * @example
 * ```ts
 * import { powerOfTwo } from "./scheduler_power_of_two.ts";
 * const a = { id: 1, slot: 0, active: 9, inFlight: 0, stalled: false };
 * const b = { id: 2, slot: 1, active: 0, inFlight: 0, stalled: false };
 * const info = { remoteAddress: undefined, remotePort: undefined, key: "k", request: undefined };
 * console.log(powerOfTwo().pick([a, b], info)?.id); // 2
 * ```
 */
export function powerOfTwo(random: () => number = Math.random): Scheduler {
  return {
    waits: false,
    pick(candidates) {
      const n = candidates.length;
      if (n <= 2) return load(candidates[n - 1]) < load(candidates[0]) ? candidates[n - 1] : candidates[0];
      const i = Math.floor(random() * n) % n;
      // The second draw skips the first, so the two are distinct.
      const j = (i + 1 + Math.floor(random() * (n - 1)) % (n - 1)) % n;
      return load(candidates[j]) < load(candidates[i]) ? candidates[j] : candidates[i];
    },
  };
}
