// The CLI primary's signals, handled by the CLI itself (the cluster runs with `signals: false`)
// so that a signal, a control-socket command and --watch take one path and say what they do in
// the log: SIGTERM and SIGINT stop gracefully (a third SIGINT kills the workers and exits 130),
// SIGHUP reloads, SIGTTIN and SIGTTOU add and remove a worker (never below 1), as gunicorn and
// the core's own handlers (src/_signals.ts) do.

import process from "node:process";

/** What the signals steer: the run (_primary.ts). */
export interface SignalControls {
  stop(reason: string): void;
  reload(reason: string): void;
  /** Adds `delta` workers to the run's target count (not below 1). */
  scaleBy(delta: number, reason: string): void;
  /** Kills every worker at once and exits (the third SIGINT). */
  killAll(): void;
}

/**
 * Installs the handlers; returns the function that removes them.
 *
 * @example
 * ```ts ignore
 * import { installSignals } from "./_signals.ts";
 * const uninstall = installSignals(run);
 * ```
 */
export function installSignals(controls: SignalControls): () => void {
  let interrupts = 0;
  const handlers: Record<string, () => void> = {
    SIGTERM: () => controls.stop("SIGTERM"),
    SIGINT: () => {
      if (++interrupts >= 3) controls.killAll();
      else controls.stop(interrupts === 1 ? "SIGINT" : "SIGINT again (once more kills)");
    },
    SIGHUP: () => controls.reload("SIGHUP"),
    SIGTTIN: () => controls.scaleBy(1, "SIGTTIN"),
    SIGTTOU: () => controls.scaleBy(-1, "SIGTTOU"),
  };
  const installed: [string, () => void][] = [];
  for (const [signal, handler] of Object.entries(handlers)) {
    try {
      process.on(signal as NodeJS.Signals, handler);
      installed.push([signal, handler]);
    } catch {
      // A signal this platform lacks (SIGTTIN on Windows): nothing to handle.
    }
  }
  return () => {
    for (const [signal, handler] of installed) process.off(signal as NodeJS.Signals, handler);
  };
}
