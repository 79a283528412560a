// What a worker is spawned with: the cluster's options, the adapter's defaults, and the
// variables that make the process a worker of this primary (its id and secret token).

import { ENV_HEARTBEAT, ENV_SIGNALS, ENV_STATS, ENV_TOKEN, ENV_WORKER_ID } from "./_runtime.ts";
import type { ResolvedOptions } from "./options.ts";
import { needsHeartbeats } from "./_resolve_options.ts";
import type { Adapter, SpawnOptions } from "./types.ts";

/**
 * The spawn options of worker `id`: environment = the primary's, then the cluster's `env`,
 * then the slot's (`fork(env)`), then ours. Throws a `TypeError` when there is no module to run.
 *
 * @example
 * ```ts ignore
 * const options = spawnOptions(adapter, resolveOptions(), { id: 1, token }, {});
 * adapter.spawn(options, events);
 * ```
 */
export function spawnOptions(
  adapter: Adapter,
  options: ResolvedOptions,
  worker: { readonly id: number; readonly token: string },
  slotEnv: Readonly<Record<string, string>>,
): SpawnOptions {
  const exec = options.exec ?? adapter.mainModule();
  if (!exec) throw new TypeError("Cannot fork: no main module to run; set the `exec` option");
  const env: Record<string, string> = {
    ...adapter.envObject(),
    ...options.env,
    ...slotEnv,
    [ENV_WORKER_ID]: String(worker.id),
    [ENV_TOKEN]: worker.token,
  };
  if (needsHeartbeats(options)) env[ENV_HEARTBEAT] = String(options.heartbeatInterval);
  if (!options.signals) env[ENV_SIGNALS] = "0";
  if (options.statsInterval > 0) env[ENV_STATS] = String(options.statsInterval);
  return {
    exec,
    args: options.args ?? adapter.inheritedArgs(),
    execArgv: execArgvOf(adapter, options, worker.id),
    env,
    cwd: options.cwd,
    silent: options.silent,
    serialization: options.serialization,
    stdio: options.stdio,
    uid: options.uid,
    gid: options.gid,
  };
}

/** The worker's runtime flags: the option, the adapter's defaults, or the option's function. */
function execArgvOf(adapter: Adapter, options: ResolvedOptions, id: number): readonly string[] {
  const option = options.execArgv;
  if (Array.isArray(option)) return option;
  const inherited = adapter.inheritedExecArgv();
  if (typeof option !== "function") return inherited;
  const flags = option(Object.freeze([...inherited]), { id });
  if (!Array.isArray(flags) || flags.some((flag) => typeof flag !== "string")) {
    throw new TypeError(
      `Cannot fork worker ${id}: the execArgv function must return an array of strings, got ` +
        `${Array.isArray(flags) ? "an array with other values" : typeof flags}`,
    );
  }
  return flags;
}
