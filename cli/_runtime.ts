// The runtime the CLI runs on, and the runtime flags its workers start with: the primary's own
// flags plus a preload of the CLI module (cli.ts), which sets a worker up before the user's
// script runs, so that the script itself is the main module (import.meta.main, process.argv
// and Deno.args are what they would be when it runs alone).

import process from "node:process";
import { fileURLToPath } from "node:url";

/** The runtimes the CLI runs on. */
export type RuntimeName = "deno" | "bun" | "node";

/** The slice of Deno's API the CLI reads (inline, so that no Deno types are needed). */
interface DenoLike {
  mainModule: string;
  permissions: { querySync(descriptor: { name: string }): { state: string } };
}

/** Deno's namespace, when running on Deno. */
export function deno(): DenoLike | undefined {
  const value = (globalThis as { Deno?: DenoLike }).Deno;
  return typeof value === "object" && value !== null ? value : undefined;
}

/**
 * The runtime this code runs on (Deno first, then Bun: both also look like Node).
 *
 * @example
 * ```ts
 * import { runtimeName } from "./_runtime.ts";
 * console.log(runtimeName()); // "node", "deno" or "bun"
 * ```
 */
export function runtimeName(): RuntimeName {
  if (deno()) return "deno";
  if (typeof (globalThis as { Bun?: unknown }).Bun === "object") return "bun";
  return "node";
}

/** Deno's permissions, as `deno run` flags. */
const DENO_PERMISSIONS = ["read", "write", "net", "env", "run", "sys", "ffi", "import"];

/**
 * The runtime flags of a worker: the primary's own (on Deno: each permission it has in full,
 * as the cluster's default does; a partial grant such as `--allow-net=host` cannot be read
 * back), the preload of `preload` (a module URL), and on Deno `--unstable-net`, without which
 * `Deno.serve({ reusePort: true })` exits the process.
 *
 * @example
 * ```ts
 * import { workerExecArgv } from "./_runtime.ts";
 * workerExecArgv("file:///app/node_modules/@x/cluster/esm/cli.js");
 * // on Node: [...process.execArgv, "--import", "file:///app/…/cli.js"]
 * ```
 */
export function workerExecArgv(preload: string): string[] {
  const d = deno();
  if (d) {
    const flags = DENO_PERMISSIONS.filter((name) => {
      try {
        return d.permissions.querySync({ name }).state === "granted";
      } catch {
        return false; // a permission this Deno does not know
      }
    }).map((name) => `--allow-${name}`);
    return [...flags, "--unstable-net", "--preload", preload];
  }
  if (runtimeName() === "bun") {
    const file = preload.startsWith("file:") ? fileURLToPath(preload) : preload;
    return [...process.execArgv, "--preload", file];
  }
  return [...process.execArgv, "--import", preload];
}

/** The oldest Node x-cluster runs on: parseArgs' `allowNegative` (20.16) and `--import` (20.6). */
export const MIN_NODE = [20, 16] as const;

/**
 * Why x-cluster cannot run on this Node (`version`, e.g. "20.15.1"), or `undefined` if it can.
 * Deno and Bun are not asked (their Node APIs have what the CLI uses).
 *
 * @example
 * ```ts
 * import { nodeTooOld } from "./_runtime.ts";
 * nodeTooOld("20.15.1"); // "x-cluster needs Node >= 20.16 …"
 * nodeTooOld("24.1.0"); // undefined
 * ```
 */
export function nodeTooOld(version: string): string | undefined {
  const [major, minor] = version.split(".").map(Number);
  if (major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])) return undefined;
  return `x-cluster needs Node >= ${MIN_NODE.join(".")} (node:util parseArgs with ` +
    `allowNegative, --import): this is Node ${version}; upgrade Node, or run it with Deno or Bun`;
}
