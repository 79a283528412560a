/**
 * Node builtins the adapters load where they are first used, not at import (issue #10,
 * startup). Imported eagerly they cost every Bun process 14 ms (node:net 7, node:url 2,
 * node:fs 2, node:dgram, node:child_process and node:stream 1 each) and every Deno process
 * 27 ms (node:fs alone 10), in the primary and again in each worker, although a worker on
 * `Bun.serve` or `Deno.serve` needs none of them and a primary needs node:net only to
 * round-robin. `process.getBuiltinModule()` loads one synchronously (Node ≥ 20.16 and 22.3,
 * Deno, Bun); on an older Node, `loadAdapter()` awaits `preloadBuiltins()` first.
 *
 * @module
 */

import type * as ChildProcess from "node:child_process";
import type * as Dgram from "node:dgram";
import type * as Fs from "node:fs";
import type * as Net from "node:net";
import process from "node:process";
import type * as Stream from "node:stream";
import type * as Url from "node:url";

/** The builtins loaded on demand, by specifier. */
interface Builtins {
  "node:child_process": typeof ChildProcess;
  "node:dgram": typeof Dgram;
  "node:fs": typeof Fs;
  "node:net": typeof Net;
  "node:stream": typeof Stream;
  "node:url": typeof Url;
}

const getBuiltin = (process as { getBuiltinModule?(id: string): unknown }).getBuiltinModule;
const loaded: Partial<Builtins> = {};

/**
 * The builtin module `id`, loaded on its first use (synchronously; cached).
 *
 * @example
 * ```ts
 * const server = builtin("node:net").createServer();
 * ```
 */
export function builtin<K extends keyof Builtins>(id: K): Builtins[K] {
  const module = loaded[id] ??= getBuiltin?.call(process, id) as Builtins[K] | undefined;
  if (module) return module;
  throw new Error(`${id} is not loaded: call preloadBuiltins() before using the adapter`);
}

/**
 * Imports every on-demand builtin up front where the runtime has no
 * `process.getBuiltinModule()` (Node before 20.16 and 22.3); elsewhere resolves at once.
 *
 * @example
 * ```ts
 * await preloadBuiltins();
 * builtin("node:fs").readFileSync("/proc/self/limits", "utf8");
 * ```
 */
export async function preloadBuiltins(): Promise<void> {
  if (getBuiltin) return;
  // Literal specifiers, so bundlers and the npm build see each import.
  const [childProcess, dgram, fs, net, stream, url] = await Promise.all([
    import("node:child_process"),
    import("node:dgram"),
    import("node:fs"),
    import("node:net"),
    import("node:stream"),
    import("node:url"),
  ]);
  Object.assign(loaded, {
    "node:child_process": childProcess,
    "node:dgram": dgram,
    "node:fs": fs,
    "node:net": net,
    "node:stream": stream,
    "node:url": url,
  });
}
