// The CLI's settings as the public API's ClusterOptions (`live`: the workers send their output
// to the primary's live view). An unset option stays `undefined`, so
// the core's own default applies. Fixed by the CLI: the workers run the user's script with the
// CLI module preloaded (_runtime.ts), carry their CLI settings in WORKER_ENV, and count as
// ready when their first server is bound, whichever API bound it (readiness "manual", the
// preload calls ready(): Deno.serve and Bun.serve servers are not the core's, so its
// "listening" readiness would never see them).

import type { ClusterOptions } from "../mod.ts";
import { workerExecArgv } from "./_runtime.ts";
import type { RunSettings } from "./_settings.ts";
import { WORKER_ENV, type WorkerSettings } from "./_worker.ts";

/**
 * The options of the cluster that runs `settings`; `preload` is the CLI module's URL.
 *
 * @example
 * ```ts ignore
 * import { Cluster } from "@x/cluster";
 * import { clusterOptions } from "./_cluster_options.ts";
 * const cluster = new Cluster(clusterOptions(settings, "file:///app/cli.ts", false));
 * ```
 */
export function clusterOptions(
  settings: RunSettings,
  preload: string,
  live: boolean,
): ClusterOptions {
  const worker: WorkerSettings = {
    logFormat: settings.logFormat,
    maxRequests: settings.maxRequests ?? 0,
    policy: settings.policy,
    live,
  };
  return {
    workers: settings.workers,
    policy: settings.policy,
    exec: settings.script,
    args: settings.args,
    execArgv: workerExecArgv(preload),
    env: { ...settings.env, [WORKER_ENV]: JSON.stringify(worker) },
    respawn: settings.respawn,
    readiness: "manual",
    readyTimeout: settings.readyTimeout,
    shutdownTimeout: settings.shutdownTimeout,
    maxRequests: settings.maxRequests,
    maxMemory: settings.maxMemory,
    heartbeatTimeout: settings.heartbeatTimeout,
    heartbeatInterval: settings.heartbeatInterval,
    reloadConcurrency: settings.reloadConcurrency,
    metrics: settings.metrics,
    systemd: settings.systemd,
    // The CLI handles the signals itself (_signals.ts): one path for signals, control commands
    // and --watch, each logged.
    signals: false,
  };
}
