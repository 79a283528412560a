// Latency under a stalled worker, open loop (issue #10 section 1): worker 1 of each tree blocks
// its event loop 200 ms every second while bench/_open_loop.ts offers new connections at a
// constant rate. The rate is the same for every variant of a runtime: a fraction of the lowest
// churn capacity wrk measured for those variants in this run (without a stall), so that p99
// compares schedulers under the same load instead of queueing at saturation. While one of the
// two workers is blocked the other carries everything, so the fraction is of what remains then
// (bench/METHODOLOGY.md has the measurements).

import { join } from "node:path";
import { binary, HERE, Proc, type Runtime } from "./_lib.ts";
import type { OpenLoopSample, RuntimeResults } from "./_results.ts";
import { fmt, median } from "./_stats.ts";
import { startTree, type Tree } from "./_tree.ts";
import { STALL_IDS, variants } from "./_variants.ts";

/** Lengths and load of the stalled-worker runs. */
export interface StallSettings {
  rounds: number;
  warmupMs: number;
  durationMs: number;
  /** Offered rate as a fraction of the measured churn capacity. */
  loadFraction: number;
  /** Offered rate (req/s) when this run measured no churn capacity. */
  fallbackRate: number;
}

/**
 * The constant rate offered to every stalled-worker variant of a runtime, and how it was chosen.
 *
 * @example
 * ```ts
 * const { rate } = stallRate(r, settings);
 * ```
 */
export function stallRate(r: RuntimeResults, s: StallSettings): { rate: number; basis: string } {
  const capacities = STALL_IDS.map((id) => ({
    id,
    rps: median((r.churn[id] ?? []).map((x) => x.rps)),
  })).filter((x) => Number.isFinite(x.rps));
  if (!capacities.length) return { rate: s.fallbackRate, basis: "fixed (no churn measured)" };
  const lowest = capacities.sort((a, b) => a.rps - b.rps)[0];
  return {
    rate: Math.max(50, Math.round(lowest.rps * s.loadFraction)),
    basis: `${Math.round(s.loadFraction * 100)} % of ${lowest.id}'s churn ${fmt(lowest.rps)} req/s`,
  };
}

/**
 * Measures the stalled-worker variants of `runtime` into `r.stall`.
 *
 * @example
 * ```ts
 * await stall("bun", r, settings, console.error);
 * ```
 */
export async function stall(
  runtime: Runtime,
  r: RuntimeResults,
  s: StallSettings,
  log: (line: string) => void,
): Promise<{ rate: number; basis: string }> {
  const offered = stallRate(r, s);
  log(`  stalled worker: ${fmt(offered.rate)} req/s offered (${offered.basis})`);
  for (let round = 1; round <= s.rounds; round++) {
    for (const v of variants(runtime).filter((v) => STALL_IDS.includes(v.id))) {
      if (r.skipped[v.id] || r.failed[`stall ${v.id}`]) continue;
      let tree: Tree | undefined;
      let client: Proc | undefined;
      try {
        tree = await startTree(runtime, v, { BENCH_STALL: "1" });
        if (tree.skip) {
          r.skipped[v.id] = tree.skip;
          continue;
        }
        const options = {
          port: tree.port,
          rate: offered.rate,
          warmupMs: s.warmupMs,
          durationMs: s.durationMs,
        };
        client = new Proc(binary("node"), [
          join(HERE, "_open_loop.ts"),
          JSON.stringify(options),
        ], "open-loop client");
        const sample = await client.next<OpenLoopSample>(
          s.warmupMs + s.durationMs + 30_000,
          "a result",
        );
        (r.stall[v.id] ??= []).push(sample);
        log(
          `  ${round}/${s.rounds} stalled ${v.label}: p50 ${fmt(sample.p50, 1)} p99 ` +
            `${fmt(sample.p99, 1)} p999 ${fmt(sample.p999, 1)} ms, ${fmt(sample.achieved)} of ` +
            `${fmt(sample.rate)} req/s, ${sample.errors} err (client ${fmt(sample.clientCpu)}%, ` +
            `lag p99 ${fmt(sample.lagP99, 1)} ms)`,
        );
      } catch (error) {
        r.failed[`stall ${v.id}`] = (error as Error).message;
        log(`  FAILED stalled ${v.label}: ${(error as Error).message}`);
      } finally {
        await client?.stop(500);
        await tree?.proc.stop();
      }
    }
  }
  return offered;
}
