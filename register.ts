/**
 * `@x/cluster/register`: makes `node:cluster` (and `cluster`) be `@x/cluster/compat` for the
 * whole process, also inside the libraries a program loads, without editing them:
 *
 * - Node (>= 22.15 / 23.5): `node --import @x/cluster/register app.js`, for `import` and
 *   `require` alike (module hooks);
 * - Bun: `bun --preload @x/cluster/register app.ts`;
 * - Deno: not supported (it throws `ClusterError` `UNSUPPORTED`; see docs/compat.md): import
 *   `@x/cluster/compat` instead.
 *
 * Workers inherit the flag. Load it before anything imports `node:cluster`.
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
import cluster from "./compat.ts";
import { register } from "./compat/_register.ts";

register(cluster);
