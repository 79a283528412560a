// The startup section of one runtime in bench/RESULTS.md.

import { STARTUP_N } from "./_bench_startup.ts";
import { table } from "./_md.ts";
import type { RuntimeResults } from "./_results.ts";
import { fmt, median, ratio, spread } from "./_stats.ts";

/**
 * Ms until N workers listen: ours (on Node from the npm build and from the sources) against a
 * bare node:cluster fork loop, and one bare boot of the runtime.
 *
 * @example
 * ```ts
 * lines.push(...startupSection("node", r));
 * ```
 */
export function startupSection(runtime: string, r: RuntimeResults): string[] {
  if (!Object.keys(r.startup).length) return [];
  const npm = runtime === "node";
  const bare = median(r.startup["bare|1"] ?? []);
  const rows = STARTUP_N.map((n) => {
    const loop = r.startup[`node-cluster|${n}`] ?? [];
    const ours = r.startup[`ours|${n}`] ?? [];
    const built = r.startup[`ours-npm|${n}`] ?? [];
    return [
      String(n),
      ...(npm ? [spread(built), ratio(median(built), median(loop))] : []),
      spread(ours),
      ratio(median(ours), median(loop)),
      spread(loop),
      fmt(bare),
    ];
  });
  return [
    "### Startup: from loading the package to N workers listening",
    "",
    ...table([
      "N",
      ...(npm ? ["ours, npm build ms", "npm build / fork loop"] : []),
      "ours, sources ms",
      "sources / fork loop",
      "bare node:cluster fork loop ms",
      "one bare boot ms",
    ], rows),
    "",
  ];
}
