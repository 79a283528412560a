// The first step of `@x/cluster/register` (register.ts), run before compat's cluster object is
// made: on Bun, compat's cluster is built into the runtime's own `node:cluster` object, so that
// every `require("cluster")` and `import cluster from "node:cluster"` gets ours. Bun has no hook
// that resolves a builtin elsewhere (measured on 1.4.5: a plugin's onResolve never sees
// `node:cluster`, and build.module() throws 'cannot be used to override builtin module').
// The object is taken with process.getBuiltinModule(), not imported: Bun fixes the ES named
// exports of a builtin when it is first imported (module.syncBuiltinESMExports() does not
// refresh them), so it must first be imported by the program, once the object is ours.
// Node maps the specifier instead (_register.ts); Deno is refused there.

import process from "node:process";
import { BUILTIN_TARGET } from "./_builtin_target.ts";

if (typeof (globalThis as { Bun?: unknown }).Bun === "object") {
  (globalThis as Record<symbol, unknown>)[BUILTIN_TARGET] = process.getBuiltinModule(
    "node:cluster",
  );
}
