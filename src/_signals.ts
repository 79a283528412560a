// The primary's signal handling (PM2's and gunicorn's conventions): SIGTERM/SIGINT shut down
// gracefully and exit (a third SIGINT stops waiting), SIGHUP reloads, SIGTTIN/SIGTTOU add or
// remove a worker. Node's cluster handles none of these; workers handle theirs in child.ts.

import type { Adapter } from "./types.ts";

/** What the signal handlers steer. */
export interface SignalTarget {
  shutdown(): Promise<void>;
  reload(): Promise<void>;
  scale(count: number): Promise<void>;
  /** Slots that are neither retired nor stopped (what SIGTTIN/SIGTTOU count from). */
  readonly activeSlots: number;
  /** Kills every worker at once (the third SIGINT). */
  killAll(): void;
  /** Reports a failed reload or scale. */
  error(error: unknown): void;
}

/**
 * Installs the primary's signal handlers through `adapter`; returns the function that removes
 * them all.
 *
 * @example
 * ```ts ignore
 * const uninstall = installSignals(adapter, cluster);
 * // … at shutdown:
 * uninstall();
 * ```
 */
export function installSignals(adapter: Adapter, target: SignalTarget): () => void {
  const removers: Array<() => void> = [];
  let interrupts = 0;
  const stop = (signal: string): void => {
    interrupts++;
    if (signal === "SIGINT" && interrupts >= 3) {
      // Asked three times: stop waiting for workers.
      target.killAll();
      adapter.exit(130);
      return;
    }
    target.shutdown().then(() => adapter.exit(0), () => adapter.exit(1));
  };
  const on = (signal: string, handler: () => void): void => {
    try {
      removers.push(adapter.onSignal(signal, handler));
    } catch {
      // A signal this platform lacks (SIGTTIN on Windows): nothing to handle.
    }
  };
  const scaleTo = (count: number): void => void target.scale(count).catch(target.error);
  on("SIGTERM", () => stop("SIGTERM"));
  on("SIGINT", () => stop("SIGINT"));
  on("SIGHUP", () => void target.reload().catch(target.error));
  on("SIGTTIN", () => scaleTo(target.activeSlots + 1));
  on("SIGTTOU", () => scaleTo(Math.max(1, target.activeSlots - 1)));
  return () => {
    for (const remove of removers.splice(0)) remove();
  };
}
