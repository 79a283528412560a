// Ports cluster.settings and setupPrimary()'s defaults of lib/internal/cluster/primary.js, and
// maps them to the options of our core `Cluster`, which forks the workers.

import process from "node:process";
import { ClusterError, type ClusterOptions, type Policy, type StdioOption } from "../mod.ts";

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
  /** Not supported: `fork()` throws `ClusterError` `UNSUPPORTED` if set. */
  inspectPort?: number | (() => number);
  /** Accepted and ignored (it only matters on Windows). */
  windowsHide?: boolean;
}

/** Settings `fork()` refuses instead of ignoring them. */
const UNSUPPORTED_SETTINGS = ["inspectPort"] as const;

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
 * set: `exec` and `execArgv` are passed only then, so that the defaults stay the core's (on Deno
 * they carry the primary's permissions, which `process.execArgv` does not show).
 */
export function coreOptions(
  settings: ClusterSettings,
  explicit: ReadonlySet<string>,
  policy: Policy,
): ClusterOptions {
  for (const name of UNSUPPORTED_SETTINGS) {
    if (settings[name] !== undefined) {
      throw new ClusterError(
        "UNSUPPORTED",
        `Cannot fork: cluster.settings.${name} is not supported by @x/cluster/compat; ` +
          "remove it from setupPrimary()",
      );
    }
  }
  return {
    ...NODE_LIKE,
    policy,
    args: settings.args,
    cwd: settings.cwd,
    silent: settings.silent,
    env: settings.env,
    serialization: settings.serialization,
    stdio: settings.stdio,
    uid: settings.uid,
    gid: settings.gid,
    exec: explicit.has("exec") ? settings.exec : undefined,
    execArgv: explicit.has("execArgv") ? settings.execArgv : undefined,
  };
}
