// Ports cluster.settings and setupPrimary()'s defaults of lib/internal/cluster/primary.js, and
// maps them to the options of our core `Cluster`, which forks the workers.

import process from "node:process";
import type { ClusterOptions, Policy, StdioOption } from "../mod.ts";
import type { InspectPorts } from "./_inspect.ts";

/** `cluster.settings`, as Node documents them. */
export interface ClusterSettings {
  /** Runtime flags of the workers. @default process.execArgv (Deno: the granted permissions) */
  execArgv?: string[];
  /** File the workers run. @default process.argv[1] */
  exec?: string;
  /** Arguments of the workers' script. @default process.argv.slice(2) */
  args?: string[];
  /** Working directory of the workers. @default the primary's */
  cwd?: string;
  /** `"json"` or `"advanced"`. @default "json" */
  serialization?: "json" | "advanced";
  /** Do not share the primary's stdout/stderr. @default false */
  silent?: boolean;
  /** Extra environment of every worker (our addition; `fork(env)` adds per worker). */
  env?: Record<string, string>;
  /** The workers' stdio (an array must contain `"ipc"`); overrides `silent`. */
  stdio?: StdioOption;
  /** User id the workers run as. */
  uid?: number;
  /** Group id the workers run as. */
  gid?: number;
  /**
   * Inspector port of a worker forked with an inspector flag in `execArgv` (a function is called
   * per fork). @default the primary's debug port + 1, + 2, … per fork
   */
  inspectPort?: number | (() => number);
  /** Accepted and ignored (it only matters on Windows). */
  windowsHide?: boolean;
}

// What makes our core behave like node:cluster, whatever the settings: no slots to fill at
// start(), no respawning, no signal handling (in the primary nor in the workers), and a worker
// is ready once online with no deadline to get there (Node never kills a slow starter, nor a
// worker that never listens; 2 ** 31 - 1 ms is the longest timer there is).
const NODE_LIKE: Partial<ClusterOptions> = {
  workers: 0,
  respawn: false,
  signals: false,
  readiness: "online",
  readyTimeout: 2 ** 31 - 1,
};

/** `setupPrimary(options)`: Node's defaults, then the current settings, then `options`. */
export function mergeSettings(current: ClusterSettings, options: ClusterSettings): ClusterSettings {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Invalid settings: expected an object, got ${typeof options}`);
  }
  return {
    args: process.argv.slice(2),
    exec: process.argv[1],
    execArgv: process.execArgv,
    silent: false,
    ...current,
    ...options,
  };
}

/**
 * The core options that fork workers with `settings`. `explicit` names the settings the user
 * set: `exec` is passed only then, so that the default stays the core's. The runtime flags are
 * each fork's own (`execArgv`, see _primary.ts), so they are not part of these options.
 */
export function coreOptions(
  settings: ClusterSettings,
  explicit: ReadonlySet<string>,
  policy: Policy,
): ClusterOptions {
  return {
    ...NODE_LIKE,
    policy,
    // SCHED_RR hands connections out in turn, as Node's RoundRobinHandle does to idle workers
    // (the core's default, least-connections, would follow load instead).
    ...(policy === "round-robin" ? { scheduler: "round-robin" as const } : {}),
    args: settings.args,
    cwd: settings.cwd,
    silent: settings.silent,
    env: settings.env,
    serialization: settings.serialization,
    stdio: settings.stdio,
    uid: settings.uid,
    gid: settings.gid,
    exec: explicit.has("exec") ? settings.exec : undefined,
  };
}

/**
 * One fork's runtime flags: `settings.execArgv` if the user set it, else the core's defaults
 * `inherited` (on Deno they carry the primary's permissions, which `process.execArgv` does not
 * show), and the worker's inspector port (_inspect.ts).
 */
export function forkExecArgv(
  settings: ClusterSettings,
  explicit: ReadonlySet<string>,
  inherited: readonly string[],
  ports: InspectPorts,
  runtime: string,
): string[] {
  const base = explicit.has("execArgv") && settings.execArgv ? settings.execArgv : inherited;
  return ports.flags(base, settings, runtime);
}
