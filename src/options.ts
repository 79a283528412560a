/**
 * The options of a {@linkcode Cluster}: what each one means, its default (one `DEFAULTS` table),
 * and `resolveOptions()`, which validates every option once, at `new Cluster()`, and fills in
 * the defaults (std's `async/retry.ts` style: nothing else in the core repeats a default).
 *
 * @module
 */

import type { Adapter, Policy, Serialization, StdioOption } from "./types.ts";
import { POLICIES } from "./types.ts";
import { type Checks, checks, isPlainObject } from "./_checks.ts";

/** What makes a worker ready: coming online, its first bound server, or its own `ready()`. */
export type Readiness = "online" | "listening" | "manual";

/** How a slot's worker is restarted after it exits on its own. Every field has a default. */
export interface RespawnOptions {
  /**
   * First delay before a restart (ms).
   * @default 100
   */
  base?: number;
  /**
   * Each consecutive failure multiplies the delay by this (>= 1).
   * @default 2
   */
  factor?: number;
  /**
   * The delay never exceeds this (ms).
   * @default 10000
   */
  cap?: number;
  /**
   * A worker that lived this long (ms) resets the backoff.
   * @default 10000
   */
  stableUptime?: number;
  /**
   * This many failures of one slot inside `window` stop its restarts (an integer >= 1).
   * @default 5
   */
  maxRestarts?: number;
  /**
   * The crash-loop window (ms).
   * @default 60000
   */
  window?: number;
}

/** Options of {@linkcode Cluster}. Every field is optional; `undefined` means the default. */
export interface ClusterOptions {
  /**
   * Workers `start()` forks.
   * @default the number of CPUs available to the process
   */
  workers?: number;
  /**
   * How connections reach workers; a worker's `serve()`/`listen()` may override it. When
   * unset, each address gets the fastest policy its API can use: `serve()` gets
   * `"reuse-port"` where the runtime can bind SO_REUSEPORT sockets (each runtime's native
   * server) and `"round-robin"` elsewhere; `listen()` gets `"round-robin"` (node:cluster's
   * default).
   * @default `"reuse-port"` for `serve()` where available, otherwise `"round-robin"`
   */
  policy?: Policy;
  /**
   * Module the workers run.
   * @default the primary's main module
   */
  exec?: string;
  /**
   * Arguments passed to the workers' script.
   * @default []
   */
  args?: string[];
  /**
   * Runtime flags of the workers.
   * @default the primary's own: `process.execArgv` on Node and Bun; on Deno the permissions
   * granted in full (never broader) and `--unstable-net` if on
   */
  execArgv?: string[];
  /**
   * Extra environment for every worker, on top of the primary's (string values).
   * @default {}
   */
  env?: Record<string, string>;
  /**
   * Working directory of the workers.
   * @default the primary's
   */
  cwd?: string;
  /**
   * Do not share the primary's stdout/stderr with workers: their stdout is discarded and the
   * tail of their stderr only goes into error messages.
   * @default false
   */
  silent?: boolean;
  /**
   * IPC serialization.
   * @default "json"
   */
  serialization?: Serialization;
  /**
   * The workers' stdio, as `child_process` takes it; an array must contain `"ipc"` once, for
   * the channel. Overrides `silent`.
   * @default `silent` decides
   */
  stdio?: StdioOption;
  /**
   * User id the workers run as (POSIX; the primary needs the right to switch).
   * @default the primary's
   */
  uid?: number;
  /**
   * Group id the workers run as (POSIX).
   * @default the primary's
   */
  gid?: number;
  /**
   * Round-robin: connection handoffs a worker may have unacknowledged (Node allows 1). A
   * worker whose oldest handoff waits over 20 ms is passed over while others can take them.
   * @default 4
   */
  maxInFlight?: number;
  /**
   * How long a stopping worker (shutdown, reload, scale-down, recycle) may drain before it is
   * killed (ms).
   * @default 10000
   */
  shutdownTimeout?: number;
  /**
   * Replace a worker that exits without being asked to, in the same slot, with exponential
   * backoff and a crash-loop guard; `false` leaves the slot empty.
   * @default true
   */
  respawn?: boolean | RespawnOptions;
  /**
   * When a worker counts as ready (`start()`, `reload()` and `scale()` wait for it):
   * `"listening"` at its first bound `serve()`/`listen()`, `"manual"` when it calls
   * `Cluster.worker.ready()`, `"online"` as soon as it runs.
   * @default "listening"
   */
  readiness?: Readiness;
  /**
   * A worker not ready this long after its fork (ms) is killed: a failed start.
   * @default 30000
   */
  readyTimeout?: number;
  /**
   * Kill (SIGTERM, then SIGKILL after `killTimeout`) and replace a worker whose event loop sent
   * no heartbeat for this long (ms); 0 turns the watchdog off.
   * @default 0
   */
  heartbeatTimeout?: number;
  /**
   * How often workers send heartbeats (ms), when a watchdog or recycling needs them; must be
   * shorter than `heartbeatTimeout`.
   * @default 1000
   */
  heartbeatInterval?: number;
  /**
   * Grace between SIGTERM and SIGKILL for an unresponsive worker (ms).
   * @default 5000
   */
  killTimeout?: number;
  /**
   * Replace a worker after about this many requests (each worker gets up to 10% more, at
   * random, so that they do not all recycle at once); 0 never.
   * @default 0
   */
  maxRequests?: number;
  /**
   * Replace a worker whose resident memory exceeds this (bytes); 0 never.
   * @default 0
   */
  maxMemory?: number;
  /**
   * Slots `reload()` replaces at once.
   * @default 1
   */
  reloadConcurrency?: number;
  /**
   * Handle signals: in the primary SIGTERM/SIGINT shut down gracefully then exit (a third SIGINT
   * forces), SIGHUP reloads, SIGTTIN/SIGTTOU add/remove a worker; workers stop gracefully on
   * SIGTERM/SIGINT and ignore the primary's steering signals. `false`: neither.
   * @default true
   */
  signals?: boolean;
  /**
   * `"reuse-port"` workers serve with a listen socket they can lend to their replacement
   * (node:http), never with the runtime's native server (`Deno.serve`, `Bun.serve`), so that
   * reloads and recycling never reset a queued connection, whatever the kernel's
   * `net.ipv4.tcp_migrate_req` says. Slower on Deno and Bun. Scale-down still closes the leaving
   * worker's listener: at `tcp_migrate_req=0` that may reset connections queued on it.
   * @default false
   */
  strictReloads?: boolean;
  /**
   * The runtime adapter.
   * @default the one detected for this runtime
   */
  adapter?: Adapter;
}

/** Options of {@linkcode Cluster.shutdown}. */
export interface ShutdownOptions {
  /**
   * Ms to wait for workers to disconnect before killing them.
   * @default the cluster's `shutdownTimeout`
   */
  timeout?: number;
}

/** The options with every default filled in; `undefined` where the adapter decides at spawn. */
export interface ResolvedOptions {
  /** `undefined`: the adapter's `availableParallelism()`. */
  readonly workers: number | undefined;
  /** `undefined`: the user set none (see {@linkcode ClusterOptions.policy}). */
  readonly policy: Policy | undefined;
  /** `undefined`: the adapter's `mainModule()`. */
  readonly exec: string | undefined;
  readonly args: readonly string[];
  /** `undefined`: the adapter's `inheritedExecArgv()`. */
  readonly execArgv: readonly string[] | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  readonly silent: boolean;
  readonly serialization: Serialization;
  readonly stdio: StdioOption | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly maxInFlight: number;
  readonly shutdownTimeout: number;
  /** `false`: never restart. */
  readonly respawn: Readonly<Required<RespawnOptions>> | false;
  readonly readiness: Readiness;
  readonly readyTimeout: number;
  readonly heartbeatTimeout: number;
  readonly heartbeatInterval: number;
  readonly killTimeout: number;
  readonly maxRequests: number;
  readonly maxMemory: number;
  readonly reloadConcurrency: number;
  readonly signals: boolean;
  readonly strictReloads: boolean;
  /** `undefined`: the adapter detected for this runtime. */
  readonly adapter: Adapter | undefined;
}

/** Options whose default the adapter decides at spawn, or that are unset by default. */
type AdapterDecides =
  | "workers"
  | "policy"
  | "exec"
  | "execArgv"
  | "cwd"
  | "stdio"
  | "uid"
  | "gid"
  | "adapter";

/** Every default, in one place. Options the adapter decides (workers, exec…) are not here. */
export const DEFAULTS: Readonly<
  Omit<ResolvedOptions, AdapterDecides | "respawn"> & {
    respawn: Readonly<Required<RespawnOptions>>;
  }
> = Object.freeze({
  args: Object.freeze([]),
  env: Object.freeze({}),
  silent: false,
  serialization: "json",
  maxInFlight: 4,
  shutdownTimeout: 10_000,
  respawn: Object.freeze({
    base: 100,
    factor: 2,
    cap: 10_000,
    stableUptime: 10_000,
    maxRestarts: 5,
    window: 60_000,
  }),
  readiness: "listening",
  readyTimeout: 30_000,
  heartbeatTimeout: 0,
  heartbeatInterval: 1000,
  killTimeout: 5000,
  maxRequests: 0,
  maxMemory: 0,
  reloadConcurrency: 1,
  signals: true,
  strictReloads: false,
});

const READINESS: readonly Readiness[] = ["listening", "manual", "online"];
const SERIALIZATIONS: readonly Serialization[] = ["json", "advanced"];
const STDIO_MODES = ["pipe", "inherit", "ignore"];
const check: Checks = checks("Cannot create the cluster");

/**
 * Validates `options` and returns them with every default filled in. Throws a `TypeError`
 * (wrong type) or `RangeError` (a number out of range) naming the option, its value and what
 * would work.
 *
 * @example Defaults filled in once
 * ```ts
 * import { resolveOptions } from "./options.ts";
 * const options = resolveOptions({ workers: 2 });
 * console.log(options.shutdownTimeout); // 10000
 * ```
 */
export function resolveOptions(options: ClusterOptions = {}): ResolvedOptions {
  if (!isPlainObject(options)) check.fail(TypeError, "options", "an object", options);
  const o: ClusterOptions = options;
  const d = DEFAULTS;
  const { delay, flag, integer, oneOf, strings, text } = check;
  const optional = <T>(value: T | undefined, resolve: (value: T) => T): T | undefined =>
    value === undefined ? undefined : resolve(value);
  const resolved: ResolvedOptions = {
    workers: optional(o.workers, (v) => integer("workers", v, 0)),
    policy: optional(o.policy, (v) => oneOf("policy", v, POLICIES)),
    exec: optional(o.exec, (v) => text("exec", v)),
    args: o.args === undefined ? d.args : strings("args", o.args),
    execArgv: o.execArgv === undefined ? undefined : strings("execArgv", o.execArgv),
    env: o.env === undefined ? d.env : checkEnv("Cannot create the cluster", "env", o.env),
    cwd: optional(o.cwd, (v) => text("cwd", v)),
    silent: flag("silent", o.silent, d.silent),
    serialization: o.serialization === undefined
      ? d.serialization
      : oneOf("serialization", o.serialization, SERIALIZATIONS),
    stdio: optional(o.stdio, stdio),
    uid: optional(o.uid, (v) => integer("uid", v, 0)),
    gid: optional(o.gid, (v) => integer("gid", v, 0)),
    maxInFlight: o.maxInFlight === undefined
      ? d.maxInFlight
      : integer("maxInFlight", o.maxInFlight, 1),
    shutdownTimeout: delay("shutdownTimeout", o.shutdownTimeout, d.shutdownTimeout, 0),
    respawn: respawn(o.respawn),
    readiness: o.readiness === undefined ? d.readiness : oneOf("readiness", o.readiness, READINESS),
    readyTimeout: delay("readyTimeout", o.readyTimeout, d.readyTimeout, 1),
    heartbeatTimeout: delay("heartbeatTimeout", o.heartbeatTimeout, d.heartbeatTimeout, 0),
    heartbeatInterval: delay("heartbeatInterval", o.heartbeatInterval, d.heartbeatInterval, 0),
    killTimeout: delay("killTimeout", o.killTimeout, d.killTimeout, 0),
    maxRequests: check.number("maxRequests", o.maxRequests, d.maxRequests, 0),
    maxMemory: check.number("maxMemory", o.maxMemory, d.maxMemory, 0),
    reloadConcurrency: o.reloadConcurrency === undefined
      ? d.reloadConcurrency
      : integer("reloadConcurrency", o.reloadConcurrency, 1),
    signals: flag("signals", o.signals, d.signals),
    strictReloads: flag("strictReloads", o.strictReloads, d.strictReloads),
    adapter: optional(o.adapter, adapter),
  };
  checkHeartbeats(resolved, o.heartbeatInterval === undefined);
  return resolved;
}

/**
 * Whether workers must send heartbeats: the watchdog or recycling reads them.
 *
 * @example
 * ```ts
 * import { needsHeartbeats, resolveOptions } from "./options.ts";
 * console.log(needsHeartbeats(resolveOptions({ maxRequests: 1000 }))); // true
 * ```
 */
export function needsHeartbeats(
  options: Pick<ResolvedOptions, "heartbeatTimeout" | "maxRequests" | "maxMemory">,
): boolean {
  return options.heartbeatTimeout > 0 || options.maxRequests > 0 || options.maxMemory > 0;
}

/**
 * Checks an environment object (the `env` option, or `fork(env)`): an object of strings.
 * Returns a frozen copy. `where` starts the error message.
 *
 * @example
 * ```ts
 * import { checkEnv } from "./options.ts";
 * checkEnv("Cannot fork", "env", { PORT: "8000" });
 * ```
 */
export function checkEnv(
  where: string,
  name: string,
  env: unknown,
): Readonly<Record<string, string>> {
  const local: Checks = checks(where);
  if (!isPlainObject(env)) {
    local.fail(TypeError, name, "an object of strings", env, 'e.g. { PORT: "8000" }');
  }
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== "string") {
      const hint = typeof value === "number" || typeof value === "boolean"
        ? `write "${value}"`
        : undefined;
      local.fail(TypeError, `${name}.${key}`, "a string", value, hint);
    }
    copy[key] = value;
  }
  return Object.freeze(copy);
}

function checkHeartbeats(o: ResolvedOptions, defaultInterval: boolean): void {
  if (!needsHeartbeats(o)) return;
  const reader = o.heartbeatTimeout > 0
    ? "'heartbeatTimeout' is set"
    : `'${o.maxRequests > 0 ? "maxRequests" : "maxMemory"}' is set (recycling reads heartbeats)`;
  if (o.heartbeatInterval === 0) {
    check.fail(RangeError, "heartbeatInterval", `a number > 0 when ${reader}`, 0, "e.g. 1000");
  }
  if (o.heartbeatTimeout > 0 && o.heartbeatInterval >= o.heartbeatTimeout) {
    const current = `${o.heartbeatInterval}${defaultInterval ? " (the default)" : ""}`;
    throw new RangeError(
      `Cannot create the cluster: 'heartbeatInterval' must be less than 'heartbeatTimeout' ` +
        `(${o.heartbeatTimeout}), or the watchdog kills healthy workers: current value is ` +
        `${current}; set heartbeatInterval to at most a quarter of heartbeatTimeout, e.g. ` +
        `${Math.max(1, Math.floor(o.heartbeatTimeout / 4))}`,
    );
  }
}

function respawn(value: unknown): Readonly<Required<RespawnOptions>> | false {
  if (value === undefined || value === true) return DEFAULTS.respawn;
  if (value === false) return false;
  if (!isPlainObject(value)) {
    check.fail(TypeError, "respawn", "a boolean or an object of respawn options", value);
  }
  const r = value as RespawnOptions;
  const d = DEFAULTS.respawn;
  const { delay } = check;
  const resolved = {
    base: delay("respawn.base", r.base, d.base, 0),
    factor: check.number("respawn.factor", r.factor, d.factor, 1),
    cap: delay("respawn.cap", r.cap, d.cap, 0),
    stableUptime: delay("respawn.stableUptime", r.stableUptime, d.stableUptime, 0),
    maxRestarts: r.maxRestarts === undefined
      ? d.maxRestarts
      : check.integer("respawn.maxRestarts", r.maxRestarts, 1),
    window: delay("respawn.window", r.window, d.window, 1),
  };
  if (resolved.cap < resolved.base) {
    check.fail(RangeError, "respawn.cap", `>= 'respawn.base' (${resolved.base})`, resolved.cap);
  }
  return Object.freeze(resolved);
}

function stdio(value: unknown): StdioOption {
  const ok = typeof value === "string"
    ? STDIO_MODES.includes(value)
    : Array.isArray(value) && value.filter((v) => v === "ipc").length === 1;
  if (!ok) {
    const what = '"pipe", "inherit", "ignore" or an array with "ipc" once (the worker\'s channel)';
    check.fail(TypeError, "stdio", what, value);
  }
  return value as StdioOption;
}

function adapter(value: unknown): Adapter {
  const a = value as Partial<Adapter> | null;
  if (typeof a !== "object" || a === null || typeof a.spawn !== "function") {
    check.fail(TypeError, "adapter", "an Adapter (see src/types.ts)", value);
  }
  return value as Adapter;
}
