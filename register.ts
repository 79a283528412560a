/**
 * `@x/cluster/register`: makes `node:cluster` (and `cluster`) be `@x/cluster/compat` for the
 * whole process, also inside the libraries a program loads, without editing them:
 *
 * - Node (>= 20.6): `node --import @x/cluster/register app.js`, for `import` and
 *   `require` alike (module hooks);
 * - Bun: `bun --preload @x/cluster/register app.ts`;
 * - Deno: not supported (it throws `ClusterError` `UNSUPPORTED`; see docs/compat.md): import
 *   `@x/cluster/compat` instead.
 *
 * Workers inherit the flag. Load it before anything imports `node:cluster`. On Node before
 * 22.15 / 23.5 (from 20.6), `module.register()` maps `import` and `Module._load` `require`.
 *
 * @example prom-client's cluster metrics, unchanged, on @x/cluster
 * ```sh
 * node --import @x/cluster/register server.js
 * bun --preload @x/cluster/register server.js
 * ```
 *
 * @module
 */

// First: on Bun, compat's cluster is built into Bun's own node:cluster object.
import "./compat/_register_target.ts";
import compat from "./compat.ts";
import type { CompatCluster } from "./compat/_cluster.ts";
import { register } from "./compat/_register.ts";

register(compat);

/**
 * The object `node:cluster` now is in this process: `@x/cluster/compat`'s default export.
 *
 * @example
 * ```ts ignore
 * import { cluster } from "@x/cluster/register";
 * import nodeCluster from "node:cluster";
 * console.log(cluster === nodeCluster); // true
 * ```
 */
export const cluster: CompatCluster = compat;
