/**
 * The options of a {@linkcode Cluster}: what each one means, its default (one `DEFAULTS` table),
 * validated once, at `new Cluster()`, by `resolveOptions()` (`_resolve_options.ts`), which fills in
 * the defaults (std's `async/retry.ts` style: nothing else in the core repeats a default).
 *
 * @module
 */

import type { SchedulerOption } from "./scheduler_types.ts";
import type { Adapter, Policy, Serialization, StdioOption } from "./types.ts";

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

/** Where the sticky key is, and the bounds of reading it (the `sticky` option). */
export interface StickyOptions {
  /** A request header holding the key, e.g. `"x-tenant"` (case-insensitive). */
  header?: string;
  /** A cookie holding the key, e.g. `"session"`. */
  cookie?: string;
  /** A query parameter holding the key, e.g. `"sid"` (Socket.IO's session id). */
  query?: string;
  /**
   * A request head larger than this (bytes) is answered `431` and closed (an `error`).
   * @default 16384
   */
  maxHeadSize?: number;
  /**
   * A request head not complete after this (ms) is answered `408` and closed (an `error`).
   * @default 10000
   */
  headTimeout?: number;
  /**
   * A key nobody claimed waits this long (ms) for a claim before it is hashed: the claim and
   * the client's next request race. Only keys a worker hands out need it (Socket.IO's `sid`);
   * a key the client chooses (a user-id header) would wait for nothing, so the default is
   * 0 unless `query` is set. Set it for a `cookie`/`header` key that workers claim.
   * @default 100 with `query`, else 0
   */
  claimWait?: number;
  /**
   * A claim no connection used for this long (ms) is forgotten.
   * @default 600000
   */
  claimTtl?: number;
  /**
   * Claims kept at most; beyond, the least recently used are forgotten.
   * @default 100000
   */
  maxClaims?: number;
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
   * Which worker gets each connection under `"round-robin"` (the primary routes them; see
   * docs/scheduling.md): `"least-connections"` (open connections the workers report plus
   * unacknowledged handoffs), `"round-robin"` (strict rotation, Node's order),
   * `"power-of-two"` (the less loaded of two random workers), `"ip-hash"` (sticky by client
   * address, consistent over scaling), or a function `(candidates, info) => candidate`. A
   * worker's `serve()`/`listen()` may name a built-in one for its address. Setting it makes
   * `"round-robin"` the default policy; with `"reuse-port"` or `"shared"` (the kernel or the
   * workers pick) it is a `ClusterError` `UNSUPPORTED`. Stalled and stopping workers are never
   * chosen while another can take the connection, whatever the scheduler.
   * @default "least-connections"
   */
  scheduler?: SchedulerOption;
  /**
   * `"ip-hash"` hashes the first `X-Forwarded-For` / `Forwarded` address of each connection's
   * first request instead of the client's address (the primary then reads that request's
   * head, as for `sticky`); for a cluster behind a proxy you trust.
   * @default false
   */
  trustProxy?: boolean;
  /**
   * L7 sticky routing under `"round-robin"` (see docs/scheduling.md): the primary reads each
   * connection's first request head, takes a key from it (`header`, else `cookie`, else
   * `query` parameter) and hands the connection, with the bytes it read, to the worker that
   * claimed the key (`Cluster.worker.claim(key)`), else to the worker the key hashes to
   * (consistently over the live workers); a request without a key goes to the `scheduler`.
   * Every request of a keep-alive connection goes to the worker of its first request. With
   * `"reuse-port"` or `"shared"` it is a `ClusterError` `UNSUPPORTED`.
   * @default undefined (off)
   */
  sticky?: StickyOptions;
  /**
   * Module the workers run.
   * @default the primary's main module
   */
  exec?: string;
  /**
   * Arguments passed to the workers' script.
   * @default the primary's own, as node:cluster does (`process.argv.slice(2)`)
   */
  args?: string[];
  /**
   * Runtime flags of the workers, or a function of the default ones and the worker's id that
   * returns them (to extend the defaults: `(flags) => [...flags, "--enable-source-maps"]`).
   * @default the primary's own: `process.execArgv` on Node and Bun; on Deno the permissions
   * granted in full (never broader) and `--unstable-net` if on
   */
  execArgv?:
    | string[]
    | ((inherited: readonly string[], worker: { readonly id: number }) => string[]);
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
   * Round-robin: connection handoffs a worker may have unacknowledged (Node's own cluster
   * allows 1). A worker whose oldest handoff waits over 20 ms is passed over while others can
   * take them. By default 1 where the runtime acknowledges each handle itself (the adapter's
   * `handoffReceipts`: Node) and the connection needs no head bytes read first: it writes one
   * handle at a time anyway, so more would only wait in its queue, promised to a worker that
   * may stall. Elsewhere 4: the worker's own answer is a round trip behind each handoff. A
   * worker gets more than one only while connections have waited 2 ms for a worker with none
   * (a backlog), and only while its oldest handoff is younger than that.
   * @default `DEFAULTS.maxInFlight` (1 with receipts, else 4)
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
   * How often each worker reports its figures for `stats()` and `/metrics` (ms), in one
   * message; 0: never (`stats()` then shows only what the primary knows itself).
   * @default 1000
   */
  statsInterval?: number;
  /**
   * Serve Prometheus metrics (`/metrics`) and health checks (`/livez`, `/readyz`) from the
   * primary on this address (see docs/observability.md); unset: no listener.
   * @default undefined (off); `hostname` defaults to `"127.0.0.1"`
   */
  metrics?: MetricsOptions;
  /**
   * Tell systemd about the primary's lifecycle when `$NOTIFY_SOCKET` is set (a `Type=notify`
   * unit): `READY=1`, `RELOADING=1`/`READY=1` around reloads, `STOPPING=1`, and `WATCHDOG=1`
   * pings when `$WATCHDOG_USEC` is set. `false`: never.
   * @default true
   */
  systemd?: boolean;
  /**
   * The runtime adapter.
   * @default the one detected for this runtime
   */
  adapter?: Adapter;
}

/** Where the primary serves `/metrics`, `/livez` and `/readyz` (the `metrics` option). */
export interface MetricsOptions {
  /** Port; 0 picks a free one (read it from `Cluster.metricsAddress`). */
  port: number;
  /**
   * Interface to bind; `"0.0.0.0"` for a scraper or probe on another host (Kubernetes).
   * @default "127.0.0.1"
   */
  hostname?: string;
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
  /** `undefined`: the user set none; addresses get `DEFAULTS.scheduler`. */
  readonly scheduler: SchedulerOption | undefined;
  readonly trustProxy: boolean;
  /** `undefined`: no sticky routing. */
  readonly sticky: Readonly<StickyOptions & StickyLimits> | undefined;
  /** `undefined`: the adapter's `mainModule()`. */
  readonly exec: string | undefined;
  /** `undefined`: the adapter's `inheritedArgs()`. */
  readonly args: readonly string[] | undefined;
  /** `undefined`: the adapter's `inheritedExecArgv()`; a function gets those, at each spawn. */
  readonly execArgv:
    | readonly string[]
    | ((inherited: readonly string[], worker: { readonly id: number }) => string[])
    | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  readonly silent: boolean;
  readonly serialization: Serialization;
  readonly stdio: StdioOption | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  /** `undefined`: by the runtime, `DEFAULTS.maxInFlight`. */
  readonly maxInFlight: number | undefined;
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
  readonly statsInterval: number;
  readonly systemd: boolean;
  /** `undefined`: no metrics listener. */
  readonly metrics: Readonly<Required<MetricsOptions>> | undefined;
  /** `undefined`: the adapter detected for this runtime. */
  readonly adapter: Adapter | undefined;
}

/** The bounds of `sticky`, each with its default in `DEFAULTS.sticky`. */
export type StickyLimits = Required<
  Pick<StickyOptions, "maxHeadSize" | "headTimeout" | "claimWait" | "claimTtl" | "maxClaims">
>;

/** Options whose default the adapter decides at spawn, or that are unset by default. */
type AdapterDecides =
  | "workers"
  | "policy"
  | "scheduler"
  | "sticky"
  | "exec"
  | "args"
  | "execArgv"
  | "cwd"
  | "stdio"
  | "uid"
  | "gid"
  | "maxInFlight"
  | "metrics"
  | "adapter";

/** Every default, in one place. Options the adapter decides (workers, exec…) are not here. */
export const DEFAULTS: Readonly<
  Omit<ResolvedOptions, AdapterDecides | "respawn"> & {
    respawn: Readonly<Required<RespawnOptions>>;
  }
> & {
  scheduler: "least-connections";
  sticky: Readonly<StickyLimits>;
  maxInFlight: Readonly<{ receipts: number; answered: number }>;
} = Object.freeze({
  scheduler: "least-connections",
  trustProxy: false,
  sticky: Object.freeze({
    maxHeadSize: 16384,
    headTimeout: 10_000,
    /** With a `query` key; 0 without one (see `StickyOptions.claimWait`). */
    claimWait: 100,
    claimTtl: 600_000,
    maxClaims: 100_000,
  }),
  env: Object.freeze({}),
  silent: false,
  serialization: "json",
  // Measured (issue #10, stalled worker, open loop, Node): at 4, p999 was the whole 200 ms
  // stall (201-210 ms in 6 runs); at 1, 18-108 ms, with the same churn. Deno, which answers
  // each handoff itself, queued at 1 (p50 4-75 ms against 2-3 ms at 4): there 4 is a cap that
  // a backlog reaches (src/_spill_gate.ts).
  maxInFlight: Object.freeze({ receipts: 1, answered: 4 }),
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
  statsInterval: 1000,
  systemd: true,
});

/** The metrics listener's interface when `metrics.hostname` is not given. */
export const METRICS_HOSTNAME = "127.0.0.1";
