/**
 * Strict rotation (Node's round-robin order): each connection goes to the next worker that
 * can take one, whatever their load. The handle offers candidates starting after the worker
 * that got the previous connection, so this scheduler takes the first.
 *
 * @module
 */

import type { Scheduler } from "./scheduler_types.ts";

/**
 * The strict round-robin scheduler.
 *
 * @example
 * ```ts
 * import { roundRobin } from "./scheduler_round_robin.ts";
 * const a = { id: 1, slot: 0, active: 9, inFlight: 0, stalled: false };
 * const b = { id: 2, slot: 1, active: 0, inFlight: 0, stalled: false };
 * const info = { remoteAddress: undefined, remotePort: undefined, key: "k", request: undefined };
 * console.log(roundRobin().pick([a, b], info)?.id); // 1
 * ```
 */
export function roundRobin(): Scheduler {
  return { waits: false, pick: (candidates) => candidates[0] };
}
