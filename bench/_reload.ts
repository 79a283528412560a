// Rolling reloads under load, run by bench/_bench_reload.ts inside a network namespace whose
// net.ipv4.tcp_migrate_req was set for the run (or in the host's namespace, with its value):
//   node bench/_reload.ts '{"runtimes":[…],"modes":[…],"rounds":N,"reloads":N,
//                           "connections":N,"warmupMs":N,"settleMs":N}'
// For each runtime and serve mode, on a fresh tree of our Cluster: wrk keep-alive and
// bench/_churn.ts (a new connection per request) run at once while the primary performs
// `reloads` rolling reloads one after the other (`cluster.reload()`: each slot gets a new worker,
// then the old one stops); the failed requests are wrk's errors plus the churn client's failed
// connections. Prints {"log": …} lines while it runs and one {"results": …} line at the end.

import process from "node:process";
import { join } from "node:path";
import { binary, HERE, Proc, type Runtime, sleep } from "./_lib.ts";
import type { ReloadSample } from "./_results.ts";
import { startTree, type Tree } from "./_tree.ts";
import { RELOAD_MODES, type Variant } from "./_variants.ts";
import { failed, Wrk } from "./_wrk.ts";

interface Options {
  runtimes: Runtime[];
  modes: string[];
  rounds: number;
  reloads: number;
  connections: number;
  warmupMs: number;
  settleMs: number;
}

const say = (message: Record<string, unknown>) => console.log(JSON.stringify(message));

// Lines of the tree's stderr that tell the user something about reloads (the core's one-time
// notice at the first fast-mode reload, for instance).
function notices(stderr: string): string[] {
  // Long enough for a whole RELOAD_MAY_RESET warning (the worker's part is at most 1,000).
  const lines = stderr.split("\n").map((line) => line.trim().slice(0, 1200));
  return [...new Set(lines.filter((line) => /tcp_migrate_req|strictReloads|reset/i.test(line)))]
    .slice(0, 3);
}

async function once(runtime: Runtime, mode: string, o: Options): Promise<ReloadSample | string> {
  const { label, env } = RELOAD_MODES[mode];
  const variant: Variant = { id: mode, label, ours: true, server: "_server_ours.ts", env };
  let tree: Tree | undefined;
  let keepalive: Wrk | undefined;
  let churn: Proc | undefined;
  try {
    tree = await startTree(runtime, variant);
    if (tree.skip) return tree.skip;
    const load = { port: tree.port, connections: o.connections };
    keepalive = new Wrk(load);
    churn = new Proc(binary("node"), [join(HERE, "_churn.ts"), JSON.stringify(load)], "churn");
    await sleep(o.warmupMs);
    const reloadMs: number[] = [];
    for (let i = 0; i < o.reloads; i++) {
      tree.proc.write("reload");
      const done = await tree.proc.next<{ reloaded?: number; reloadFailed?: string }>(
        120_000,
        "the end of a reload",
      );
      if (done.reloadFailed) throw new Error(`reload failed: ${done.reloadFailed}`);
      reloadMs.push(done.reloaded!);
      await sleep(o.settleMs);
    }
    keepalive.stop();
    churn.write("stop");
    const [k, c] = await Promise.all([
      keepalive.result(),
      churn.next<ReloadSample["churn"]>(30_000, "the churn result"),
    ]);
    return {
      reloads: o.reloads,
      failed: failed(k.errors) + c.failed,
      keepalive: { requests: k.requests, errors: k.errors, clientCpu: k.clientCpu },
      churn: c,
      reloadMs,
      notices: notices(tree.proc.stderr),
    };
  } finally {
    await keepalive?.close();
    await churn?.stop(500);
    await tree?.proc.stop();
  }
}

const o = JSON.parse(process.argv[2]) as Options;
const results: Record<string, Record<string, ReloadSample[]>> = {};
const skipped: Record<string, Record<string, string>> = {};
const failures: Record<string, Record<string, string>> = {};
for (let round = 1; round <= o.rounds; round++) {
  for (const runtime of o.runtimes) {
    for (const mode of o.modes) {
      if (skipped[runtime]?.[mode] || failures[runtime]?.[mode]) continue;
      try {
        const sample = await once(runtime, mode, o);
        if (typeof sample === "string") {
          (skipped[runtime] ??= {})[mode] = sample;
          continue;
        }
        ((results[runtime] ??= {})[mode] ??= []).push(sample);
        say({
          log: `${runtime} ${mode}: ${sample.failed} failed in ${sample.reloads} reloads ` +
            `(${sample.keepalive.requests} keep-alive + ${sample.churn.requests} churn ` +
            `requests; reloads ${sample.reloadMs.map((ms) => ms.toFixed(0)).join(", ")} ms)`,
        });
      } catch (error) {
        (failures[runtime] ??= {})[mode] = (error as Error).message;
        say({ log: `FAILED ${runtime} ${mode}: ${(error as Error).message}` });
      }
    }
  }
}
say({ results, skipped, failures });
process.exit(0);
