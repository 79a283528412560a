// Validation of a Cluster's options: `resolveOptions()` checks every option once, at
// `new Cluster()`, and fills in the defaults from `DEFAULTS` (src/options.ts).

import type { Adapter, Serialization, StdioOption } from "./types.ts";
import { POLICIES } from "./types.ts";
import { ClusterError } from "./errors.ts";
import { SCHEDULERS, type SchedulerOption } from "./scheduler_types.ts";
import { type Checks, checks, isPlainObject } from "./_checks.ts";
import {
  type ClusterOptions,
  DEFAULTS,
  METRICS_HOSTNAME,
  type MetricsOptions,
  type Readiness,
  type ResolvedOptions,
  type RespawnOptions,
  type StickyLimits,
  type StickyOptions,
} from "./options.ts";

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
 * import { resolveOptions } from "./_resolve_options.ts";
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
    scheduler: optional(o.scheduler, scheduler),
    trustProxy: flag("trustProxy", o.trustProxy, d.trustProxy),
    sticky: o.sticky === undefined ? undefined : sticky(o.sticky),
    exec: optional(o.exec, (v) => text("exec", v)),
    args: o.args === undefined ? undefined : strings("args", o.args),
    execArgv: o.execArgv === undefined || typeof o.execArgv === "function"
      ? o.execArgv
      : strings("execArgv", o.execArgv),
    env: o.env === undefined ? d.env : checkEnv("Cannot create the cluster", "env", o.env),
    cwd: optional(o.cwd, (v) => text("cwd", v)),
    silent: flag("silent", o.silent, d.silent),
    serialization: o.serialization === undefined
      ? d.serialization
      : oneOf("serialization", o.serialization, SERIALIZATIONS),
    stdio: optional(o.stdio, stdio),
    uid: optional(o.uid, (v) => integer("uid", v, 0)),
    gid: optional(o.gid, (v) => integer("gid", v, 0)),
    maxInFlight: optional(o.maxInFlight, (v) => integer("maxInFlight", v, 1)),
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
    statsInterval: delay("statsInterval", o.statsInterval, d.statsInterval, 0),
    metrics: o.metrics === undefined ? undefined : metrics(o.metrics),
    systemd: flag("systemd", o.systemd, d.systemd),
    adapter: optional(o.adapter, adapter),
  };
  checkHeartbeats(resolved, o.heartbeatInterval === undefined);
  if (resolved.scheduler !== undefined) checkRoutable(resolved.policy, "a 'scheduler'");
  if (resolved.sticky !== undefined) checkRoutable(resolved.policy, "'sticky' keys");
  return resolved;
}

/**
 * Throws `UNSUPPORTED` when `policy` cannot route connections by a scheduler or a key:
 * under `"reuse-port"` the kernel picks the worker, under `"shared"` the workers race to accept.
 *
 * @example
 * ```ts
 * import { checkRoutable } from "./_resolve_options.ts";
 * checkRoutable("round-robin", "a 'scheduler'"); // fine
 * ```
 */
export function checkRoutable(policy: string | null | undefined, what: string): void {
  if (policy !== "reuse-port" && policy !== "shared") return;
  throw new ClusterError(
    "UNSUPPORTED",
    `Cannot route by ${what} under policy "${policy}": ` +
      `${policy === "shared" ? "the workers race to accept" : "the kernel picks the worker"}; ` +
      `use policy "round-robin", where the primary routes every connection`,
  );
}

/**
 * Whether workers must send heartbeats: the watchdog or recycling reads them.
 *
 * @example
 * ```ts
 * import { needsHeartbeats, resolveOptions } from "./_resolve_options.ts";
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
 * import { checkEnv } from "./_resolve_options.ts";
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

function sticky(value: unknown): Readonly<StickyOptions & StickyLimits> {
  if (!isPlainObject(value)) {
    check.fail(TypeError, "sticky", "an object { header?, cookie?, query? }", value, 'e.g. { query: "sid" }');
  }
  const v = value as StickyOptions;
  const d = DEFAULTS.sticky;
  const name = (key: "header" | "cookie" | "query") =>
    v[key] === undefined ? undefined : check.text(`sticky.${key}`, v[key]);
  const resolved = {
    header: name("header"),
    cookie: name("cookie"),
    query: name("query"),
    maxHeadSize: v.maxHeadSize === undefined
      ? d.maxHeadSize
      : check.integer("sticky.maxHeadSize", v.maxHeadSize, 64),
    headTimeout: check.delay("sticky.headTimeout", v.headTimeout, d.headTimeout, 1),
    // Only a key workers hand out (a query `sid`) is worth waiting for by default.
    claimWait: check.delay("sticky.claimWait", v.claimWait, v.query === undefined ? 0 : d.claimWait, 0),
    claimTtl: check.delay("sticky.claimTtl", v.claimTtl, d.claimTtl, 1),
    maxClaims: v.maxClaims === undefined ? d.maxClaims : check.integer("sticky.maxClaims", v.maxClaims, 1),
  };
  if (!resolved.header && !resolved.cookie && !resolved.query) {
    check.fail(TypeError, "sticky", "an object naming a 'header', 'cookie' or 'query'", value, 'e.g. { query: "sid" }');
  }
  return Object.freeze(resolved);
}

function scheduler(value: unknown): SchedulerOption {
  if (typeof value === "function") return value as SchedulerOption;
  return check.oneOf("scheduler", value, SCHEDULERS);
}

function metrics(value: unknown): Readonly<Required<MetricsOptions>> {
  if (!isPlainObject(value)) {
    check.fail(TypeError, "metrics", "an object { port, hostname? }", value, "e.g. { port: 9100 }");
  }
  const m = value as Partial<MetricsOptions>;
  if (!(Number.isInteger(m.port) && (m.port as number) >= 0 && (m.port as number) <= 65535)) {
    check.fail(RangeError, "metrics.port", "an integer from 0 to 65535", m.port, "e.g. 9100");
  }
  const hostname = m.hostname === undefined
    ? METRICS_HOSTNAME
    : check.text("metrics.hostname", m.hostname);
  return Object.freeze({ port: m.port as number, hostname });
}

function adapter(value: unknown): Adapter {
  const a = value as Partial<Adapter> | null;
  if (typeof a !== "object" || a === null || typeof a.spawn !== "function") {
    check.fail(TypeError, "adapter", "an Adapter (see src/types.ts)", value);
  }
  return value as Adapter;
}
