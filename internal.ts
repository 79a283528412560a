/**
 * Internal entry of `@x/cluster/compat`: what the `node:cluster` layer needs beyond the public
 * API of `mod.ts`: the adapter's mark on its IPC listener, the runtime's capabilities, and an
 * adapter made synchronously (node:cluster's `fork()` spawns before it returns).
 * **Not a public API**: it is not in `deno.json`'s exports, it may change in any release, and
 * nothing but `compat/` may import it.
 *
 * @example How compat reads the runtime's capabilities
 * ```ts ignore
 * import { runtimeFacts } from "./internal.ts";
 * const { capabilities } = await runtimeFacts();
 * const shared = capabilities.sharedListenHandle;
 * if (shared !== true) console.log(shared.reason);
 * ```
 *
 * @module
 */

// First: the package entry installs the runtime (role and adapter loader) that runtime() reads.
import "./mod.ts";
import { runtime } from "./src/_runtime.ts";
import type { Adapter, Capabilities } from "./mod.ts";
import { createBunAdapter } from "./adapters/bun.ts";
import { createDenoAdapter } from "./adapters/deno.ts";
import { detectRuntime } from "./adapters/mod.ts";
import { createNodeAdapter } from "./adapters/node.ts";

export type { Capabilities, Serialization } from "./mod.ts";

/**
 * Marks the listener the adapter adds to `process` for a worker's IPC channel, so that compat,
 * which wraps every other `message` listener, can tell the core's own apart.
 *
 * @example
 * ```ts ignore
 * import { CORE_LISTENER } from "./internal.ts";
 * const isCore = (listener: object) => CORE_LISTENER in listener;
 * ```
 */
export { CORE_LISTENER } from "./adapters/_node_api.ts";

/** The runtime compat runs on, and what it can do, as its adapter declares them. */
export interface RuntimeFacts {
  /** Runtime name, e.g. `"deno"`. */
  readonly runtime: string;
  /** Runtime version, e.g. `"2.9.6"`. */
  readonly version: string;
  /** What the runtime can do, and why not where it cannot. */
  readonly capabilities: Capabilities;
}

/**
 * The runtime's name, version and capabilities, from the adapter the core uses (loaded at most
 * once per process).
 *
 * @example
 * ```ts ignore
 * import { runtimeFacts } from "./internal.ts";
 * const { runtime, capabilities } = await runtimeFacts();
 * console.log(runtime, capabilities.reusePort);
 * ```
 */
export function runtimeFacts(): Promise<RuntimeFacts> {
  return runtime().loadAdapter().then(({ runtime, version, capabilities }) => ({
    runtime,
    version,
    capabilities,
  }));
}

let now: Adapter | undefined;

/**
 * This runtime's adapter, created synchronously on first call (all three are imported with
 * this module, instead of the one `loadAdapter()` imports lazily): compat gives it to its core
 * clusters as the `adapter` option, so that `fork()` spawns at once, with `worker.process.pid`
 * and its stdio pipes there when `fork()` returns, as node:cluster has them.
 *
 * @example
 * ```ts ignore
 * import { Cluster } from "./mod.ts";
 * import { adapterNow } from "./internal.ts";
 * const worker = new Cluster({ adapter: adapterNow() }).fork();
 * console.log(worker.pid); // a number already
 * ```
 */
export function adapterNow(): Adapter {
  if (now) return now;
  const name = detectRuntime();
  now = name === "deno"
    ? createDenoAdapter()
    : name === "bun"
    ? createBunAdapter()
    : createNodeAdapter();
  return now;
}

/**
 * {@linkcode runtimeFacts}, at once, from {@linkcode adapterNow}.
 *
 * @example
 * ```ts ignore
 * import { runtimeFactsNow } from "./internal.ts";
 * console.log(runtimeFactsNow().capabilities.sharedListenHandle);
 * ```
 */
export function runtimeFactsNow(): RuntimeFacts {
  const { runtime, version, capabilities } = adapterNow();
  return { runtime, version, capabilities };
}
