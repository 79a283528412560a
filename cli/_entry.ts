// Whether cli.ts is the program (`x-cluster …`, `deno run jsr:@x/cluster/cli …`) or was only
// imported, and where it is (its URL is what workers preload). `import.meta` would say both,
// but the npm package also ships cli.ts compiled to CommonJS, where `import.meta` is a syntax
// error; the first frame of a stack trace taken at the module's top level names the module on
// V8 (Node, Deno) and JavaScriptCore (Bun) alike, in both module systems.

import { realpathSync } from "node:fs";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { deno } from "./_runtime.ts";

/**
 * The URL of the module whose top-level code created `error`, from its first stack frame
 * (`at file:///…/cli.ts:12:3`, `at Object.<anonymous> (/…/cli.js:12:3)`, `at /…/cli.ts:12:3`);
 * `undefined` if the stack names none.
 *
 * @example
 * ```ts
 * import { moduleUrlOf } from "./_entry.ts";
 * console.log(moduleUrlOf(new Error())); // this module's URL
 * ```
 */
export function moduleUrlOf(error: Error): string | undefined {
  const frame = (error.stack ?? "").split("\n").find((line) => /^\s*at\s/.test(line));
  const location = frame &&
    /\(?((?:file|https?|jsr):[^\s()]+|\/[^\s()]+):\d+:\d+\)?\s*$/.exec(frame);
  if (!location) return undefined;
  const where = location[1];
  return where.startsWith("/") ? pathToFileURL(where).href : where;
}

/** `url`, with a file URL's symbolic links resolved (as module loaders resolve them). */
function canonical(url: string): string {
  if (!url.startsWith("file:")) return url;
  try {
    return pathToFileURL(realpathSync(new URL(url))).href;
  } catch {
    return url;
  }
}

/**
 * Whether the module at `url` is the program's entry: `Deno.mainModule` on Deno, else the
 * script in `process.argv[1]` (after symbolic links: npm's `bin` is one).
 *
 * @example
 * ```ts
 * import { isProgramEntry, moduleUrlOf } from "./_entry.ts";
 * console.log(isProgramEntry(moduleUrlOf(new Error())!)); // false: imported by this example
 * ```
 */
export function isProgramEntry(url: string): boolean {
  const main = deno()?.mainModule ??
    (process.argv[1] ? pathToFileURL(process.argv[1]).href : undefined);
  return main !== undefined && canonical(main) === canonical(url);
}
