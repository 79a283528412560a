// Throughput of bench/run.ts: for each variant on a fresh tree, a wrk warm-up, then keep-alive
// and churn (`Connection: close`) runs. Variants alternate within each round (A B C …, A B C …).

import type { Runtime } from "./_lib.ts";
import type { RuntimeResults } from "./_results.ts";
import { fmt } from "./_stats.ts";
import { fingerprint, measure, serverKind, startTree, type Tree } from "./_tree.ts";
import { variants } from "./_variants.ts";
import { failed } from "./_wrk.ts";

/** Lengths and load of the throughput runs. */
export interface TrafficSettings {
  rounds: number;
  warmupS: number;
  measureS: number;
  connections: number;
}

/**
 * Measures every variant of `runtime` into `r.keepalive` and `r.churn`.
 *
 * @example
 * ```ts
 * await traffic("node", r, { rounds: 3, warmupS: 1, measureS: 5, connections: 64 }, console.error);
 * ```
 */
export async function traffic(
  runtime: Runtime,
  r: RuntimeResults,
  s: TrafficSettings,
  log: (line: string) => void,
): Promise<void> {
  for (let round = 1; round <= s.rounds; round++) {
    for (const v of variants(runtime)) {
      if (r.skipped[v.id] || r.failed[`traffic ${v.id}`]) continue;
      let tree: Tree | undefined;
      try {
        tree = await startTree(runtime, v);
        if (tree.skip) {
          r.skipped[v.id] = tree.skip;
          log(`  skip ${v.label}: ${tree.skip}`);
          continue;
        }
        r.fingerprints[v.id] ??= await fingerprint(tree.port);
        r.workers[v.id] = tree.workers;
        const load = { connections: s.connections };
        await measure(tree, { ...load, seconds: s.warmupS });
        const keepalive = await measure(tree, { ...load, seconds: s.measureS });
        const churn = await measure(tree, { ...load, seconds: s.measureS, close: true });
        (r.keepalive[v.id] ??= []).push(keepalive);
        (r.churn[v.id] ??= []).push(churn);
        log(
          `  ${round}/${s.rounds} ${v.label} [${serverKind(r.fingerprints[v.id])}, ` +
            `${tree.workers} workers]: keep-alive ${fmt(keepalive.rps)} req/s ` +
            `(wrk ${fmt(keepalive.clientCpu)}%, ${failed(keepalive.errors)} err); ` +
            `churn ${fmt(churn.rps)} req/s (wrk ${fmt(churn.clientCpu)}%, ` +
            `primary ${fmt(churn.primaryCpu)}%, workers ${fmt(churn.workersCpu)}%, ` +
            `${failed(churn.errors)} err)`,
        );
      } catch (error) {
        r.failed[`traffic ${v.id}`] = (error as Error).message;
        log(`  FAILED ${v.label}: ${(error as Error).message}`);
      } finally {
        await tree?.proc.stop();
      }
    }
  }
}
