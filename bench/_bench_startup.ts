// Startup of bench/run.ts: bench/_startup.ts under the runtime being measured, one fresh process
// per sample, for ours and a bare node:cluster fork loop at each N, plus one bare runtime boot.
// On Node ours is measured twice: from the npm build (what Node users install; the target) and
// from the .ts sources (which Node type-strips at every boot).

import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { command, Proc, ROOT, type Runtime } from "./_lib.ts";
import type { RuntimeResults } from "./_results.ts";
import { fmt } from "./_stats.ts";

/** Worker counts of the startup runs. */
export const STARTUP_N = [1, 2, 4];

/** Startup variants measured on `runtime`: `ours-npm` exists on Node only. */
export function startupVariants(runtime: Runtime): string[] {
  return runtime === "node"
    ? ["ours-npm", "ours", "node-cluster", "bare"]
    : ["ours", "node-cluster", "bare"];
}

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

/**
 * Whether npm/ holds a build at least as new as the sources: "absent", "stale" or "fresh".
 *
 * @example
 * ```ts
 * if (npmBuild() === "absent") buildNpm();
 * ```
 */
export function npmBuild(): "absent" | "stale" | "fresh" {
  const built = join(ROOT, "npm", "esm", "mod.js");
  if (!existsSync(built)) return "absent";
  const sources = Math.max(
    statSync(join(ROOT, "mod.ts")).mtimeMs,
    newest(join(ROOT, "src")),
    newest(join(ROOT, "adapters")),
  );
  return statSync(built).mtimeMs >= sources ? "fresh" : "stale";
}

/**
 * Measures startup on `runtime` into `r.startup` ("variant|N" → ms per round).
 *
 * @example
 * ```ts
 * await startup("deno", r, 3, console.error);
 * ```
 */
export async function startup(
  runtime: Runtime,
  r: RuntimeResults,
  rounds: number,
  log: (line: string) => void,
): Promise<void> {
  for (let round = 1; round <= rounds; round++) {
    for (const n of STARTUP_N) {
      for (const variant of startupVariants(runtime)) {
        if (variant === "bare" && n !== 1) continue; // one boot, whatever N
        const key = `${variant}|${n}`;
        if (r.failed[`startup ${key}`]) continue;
        const npm = variant === "ours-npm";
        const [file, args] = command(runtime, "_startup.ts", [npm ? "ours" : variant, String(n)]);
        const proc = new Proc(file, args, `${runtime} startup ${key}`, {
          env: { ...process.env, BENCH_NPM: npm ? "1" : "0" },
        });
        try {
          const { ms } = await proc.next<{ ms: number }>(60_000, "a result");
          (r.startup[key] ??= []).push(ms);
        } catch (error) {
          r.failed[`startup ${key}`] = (error as Error).message;
          log(`  FAILED startup ${key}: ${(error as Error).message}`);
        } finally {
          await proc.stop();
        }
      }
    }
    log(
      `  ${round}/${rounds} startup ms: ` +
        Object.entries(r.startup).map(([k, xs]) => `${k} ${fmt(xs[xs.length - 1])}`).join(", "),
    );
  }
}
