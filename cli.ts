#!/usr/bin/env node
/**
 * `x-cluster`: runs an unmodified server in a cluster of worker processes, on Node, Deno and
 * Bun.
 *
 * ```sh
 * npx @x/cluster -w auto server.js
 * deno run -A jsr:@x/cluster/cli -w auto server.ts
 * bunx --bun @x/cluster -w auto server.ts
 * ```
 *
 * Scripts that `listen()` with node:http or node:net (express, koa, fastify, hono's node
 * adapter) share their port through the listen hook of `@x/cluster/compat`; scripts that call
 * `Deno.serve` or `Bun.serve` get `reusePort: true`. `x-cluster --help` lists the options;
 * docs/cli.md says what works where.
 *
 * This module is the program when run, and the worker setup when a CLI worker preloads it;
 * imported otherwise, it only exports {@linkcode main}.
 *
 * @module
 */

import process from "node:process";
import { isProgramEntry, moduleUrlOf } from "./cli/_entry.ts";
import { runCommandLine } from "./cli/_main.ts";
import { bootWorker, takeWorkerSettings } from "./cli/_worker.ts";

// This module's URL, from a stack frame (import.meta is not available in the CommonJS build).
const self = moduleUrlOf(new Error());

/**
 * Runs x-cluster with the command line `args` (default: this process's) and resolves with the
 * exit status (0 after a requested stop, 1 after a crash loop or a failed start, 2 for a bad
 * command line); the program exits with it.
 *
 * @example Run a server in 4 workers
 * ```ts ignore
 * import process from "node:process";
 * import { main } from "@x/cluster/cli";
 * process.exitCode = await main(["-w", "4", "server.js"]);
 * ```
 */
export function main(args: readonly string[] = process.argv.slice(2)): Promise<number> {
  if (self === undefined) {
    return Promise.reject(
      new Error("x-cluster cannot tell where its module is (no stack trace): run cli.ts directly"),
    );
  }
  return runCommandLine(args, self);
}

/**
 * Exits once stdout has taken everything written: a write still pending on a pipe may be lost at
 * process.exit() (seen once on Bun under load: `x-cluster status --json` printed nothing).
 */
function exitAfterFlush(status: number): void {
  process.stdout.write("", () => process.exit(status));
}

if (self !== undefined && isProgramEntry(self)) {
  main().then(exitAfterFlush, (error) => {
    console.error("x-cluster:", error);
    exitAfterFlush(1);
  });
} else {
  const settings = takeWorkerSettings();
  if (settings) bootWorker(settings);
}
