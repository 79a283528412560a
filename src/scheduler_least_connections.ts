/**
 * The default scheduler: the worker with the fewest connections, counting those it reported
 * open and those the primary sent it and it has not acknowledged yet (PM2 users ask for this,
 * Unitech/pm2#4503; Node's round-robin ignores load). Ties go to the first candidate, which the
 * handle offers in rotation order, so an idle cluster alternates.
 *
 * @module
 */

import type { Candidate, Scheduler, ScheduleInfo } from "./scheduler_types.ts";

/**
 * The least-connections scheduler.
 *
 * @example
 * ```ts
 * import { leastConnections } from "./scheduler_least_connections.ts";
 * const a = { id: 1, slot: 0, active: 9, inFlight: 0, stalled: false };
 * const b = { id: 2, slot: 1, active: 2, inFlight: 1, stalled: false };
 * const info = { remoteAddress: undefined, remotePort: undefined, key: "k", request: undefined };
 * console.log(leastConnections().pick([a, b], info)?.id); // 2
 * ```
 */
export function leastConnections(): Scheduler {
  return { waits: false, pick: pickLeastLoaded };
}

/**
 * The first of `candidates` with the smallest `active + inFlight`.
 *
 * @example
 * ```ts
 * import { pickLeastLoaded } from "./scheduler_least_connections.ts";
 * const info = { remoteAddress: undefined, remotePort: undefined, key: "k", request: undefined };
 * pickLeastLoaded([{ id: 1, slot: 0, active: 0, inFlight: 0, stalled: false }], info);
 * ```
 */
export function pickLeastLoaded(
  candidates: readonly Candidate[],
  _info?: ScheduleInfo,
): Candidate | undefined {
  let best: Candidate | undefined;
  for (const candidate of candidates) {
    if (!best || load(candidate) < load(best)) best = candidate;
  }
  return best;
}

/**
 * A candidate's load: its open connections plus its unacknowledged handoffs.
 *
 * @example
 * ```ts
 * import { load } from "./scheduler_least_connections.ts";
 * console.log(load({ id: 1, slot: 0, active: 3, inFlight: 1, stalled: false })); // 4
 * ```
 */
export function load(candidate: Candidate): number {
  return candidate.active + candidate.inFlight;
}
