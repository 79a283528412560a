/**
 * Makes the scheduler of one listen address from the `scheduler` option (a built-in's name or
 * a user's function).
 *
 * @module
 */

import type { ClusterError } from "./errors.ts";
import { userScheduler } from "./scheduler_function.ts";
import { ipHash } from "./scheduler_ip_hash.ts";
import { leastConnections } from "./scheduler_least_connections.ts";
import { powerOfTwo } from "./scheduler_power_of_two.ts";
import { roundRobin } from "./scheduler_round_robin.ts";
import type { Scheduler, SchedulerOption } from "./scheduler_types.ts";

/** What a scheduler may need from its handle. */
export interface SchedulerHooks {
  /** Reports a user function's failures (one per burst). */
  onError(error: ClusterError): void;
  /** `"ip-hash"`: hash the first forwarded address of the request head, when there is one. */
  trustProxy?: boolean;
  /** Monotonic clock (ms). @default performance.now */
  now?: () => number;
  /** Uniform in [0, 1) (`"power-of-two"`). @default Math.random */
  random?: () => number;
}

/**
 * The scheduler for `option`.
 *
 * @example
 * ```ts
 * import { createScheduler } from "./scheduler_create.ts";
 * const scheduler = createScheduler("power-of-two", { onError: console.error });
 * console.log(scheduler.waits); // false
 * ```
 */
export function createScheduler(option: SchedulerOption, hooks: SchedulerHooks): Scheduler {
  if (typeof option === "function") {
    return userScheduler(option, { onError: hooks.onError, now: hooks.now });
  }
  switch (option) {
    case "least-connections":
      return leastConnections();
    case "round-robin":
      return roundRobin();
    case "power-of-two":
      return powerOfTwo(hooks.random);
    case "ip-hash":
      return ipHash({ trustProxy: hooks.trustProxy });
  }
  throw new TypeError(`Unknown scheduler ${JSON.stringify(option)}`);
}
