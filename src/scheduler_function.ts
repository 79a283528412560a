/**
 * A user's scheduler function, guarded: a throw or an answer that is not one of the candidates
 * falls back to the default scheduler for that connection (never a lost connection), and is
 * reported as one `SCHEDULER_FAILED` error per burst: the first failure is reported at once,
 * later ones within `quietPeriod` ms of that report are only counted, and the next report says
 * how many there were.
 *
 * @module
 */

import { ClusterError } from "./errors.ts";
import { pickLeastLoaded } from "./scheduler_least_connections.ts";
import type { Candidate, Scheduler, SchedulerFunction } from "./scheduler_types.ts";

/** Options of {@linkcode userScheduler}. */
export interface UserSchedulerOptions {
  /** Receives the burst reports. */
  onError(error: ClusterError): void;
  /** Monotonic clock (ms). @default performance.now */
  now?: () => number;
  /** Failures within this long (ms) after a report are counted into the next one. @default 1000 */
  quietPeriod?: number;
}

/**
 * Wraps `fn` as a {@linkcode Scheduler}.
 *
 * @example
 * ```ts
 * import { userScheduler } from "./scheduler_function.ts";
 * const scheduler = userScheduler((candidates) => candidates.at(-1), { onError: console.error });
 * const workers = [1, 2].map((id) => ({ id, slot: id - 1, active: 0, inFlight: 0, stalled: false }));
 * const info = { remoteAddress: undefined, remotePort: undefined, key: "k", request: undefined };
 * console.log(scheduler.pick(workers, info)?.id); // 2
 * ```
 */
export function userScheduler(fn: SchedulerFunction, options: UserSchedulerOptions): Scheduler {
  const now = options.now ?? (() => performance.now());
  const quiet = options.quietPeriod ?? 1000;
  let reportedAt = -Infinity, suppressed = 0;
  const fail = (what: string, cause?: unknown): void => {
    const t = now();
    if (t - reportedAt < quiet) {
      suppressed++;
      return;
    }
    const more = suppressed > 0 ? ` (and ${suppressed} more failures since the last report)` : "";
    reportedAt = t;
    suppressed = 0;
    options.onError(
      new ClusterError(
        "SCHEDULER_FAILED",
        `The scheduler function ${what}${more}; those connections went to the ` +
          `"least-connections" choice instead: return one of the candidates, or undefined`,
        { cause },
      ),
    );
  };
  return {
    waits: false,
    pick(candidates, info) {
      let answer: Candidate | undefined;
      try {
        answer = fn(candidates, info);
      } catch (error) {
        fail(`threw: ${(error as Error)?.message ?? String(error)}`, error);
        return pickLeastLoaded(candidates);
      }
      if (answer === undefined) return pickLeastLoaded(candidates);
      // The very object, or one naming a candidate's id (a copy the function built).
      const chosen = candidates.includes(answer)
        ? answer
        : candidates.find((c) => c.id === (answer as { id?: unknown } | null)?.id);
      if (chosen) return chosen;
      fail(`returned ${describe(answer)}, which is not one of the candidates`);
      return pickLeastLoaded(candidates);
    },
  };
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  const id = (value as { id?: unknown }).id;
  return id === undefined ? "an object without an id" : `a candidate with id ${String(id)}`;
}
