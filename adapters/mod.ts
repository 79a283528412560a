/**
 * Runtime detection: picks the adapter of the runtime this code runs on and loads only that
 * one (Deno first, then Bun, then Node: Deno and Bun also look like Node).
 *
 * @module
 */

import type { Adapter } from "../src/types.ts";
import { preloadBuiltins } from "./_builtins.ts";

/** The runtimes we detect. */
export type RuntimeName = "deno" | "bun" | "node";

/**
 * Names the runtime this code runs on.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "./mod.ts";
 * console.log(detectRuntime()); // "deno", "bun" or "node"
 * ```
 */
export function detectRuntime(): RuntimeName {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (typeof g.Deno === "object" && g.Deno !== null) return "deno";
  if (typeof g.Bun === "object" && g.Bun !== null) return "bun";
  return "node";
}

/**
 * Loads the adapter for the current runtime (a lazy import of that runtime's file only).
 *
 * @example
 * ```ts ignore
 * import { loadAdapter } from "./mod.ts";
 * const adapter = await loadAdapter();
 * console.log(adapter.runtime, adapter.capabilities);
 * ```
 */
export async function loadAdapter(): Promise<Adapter> {
  // Only a Node before 20.16 and 22.3 loads the builtins here; elsewhere each loads at first use.
  await preloadBuiltins();
  switch (detectRuntime()) {
    case "deno":
      return (await import("./deno.ts")).createDenoAdapter();
    case "bun":
      return (await import("./bun.ts")).createBunAdapter();
    default:
      return (await import("./node.ts")).createNodeAdapter();
  }
}
