// The benchmark harness (issue #10): `npm run bench [-- --quick]` (node bench/run.ts). For each of
// Node, Deno and Bun it runs ours against that runtime's own options, with the same hello-world
// handler and 2 workers, and regenerates bench/RESULTS.md, bench/results.json, bench/charts/*.svg:
//   traffic  keep-alive and churn req/s with wrk, fairness, CPU of client, primary and workers
//   stall    latency under a stalled worker, open loop (bench/_open_loop.ts)
//   ipc      ping-pong and pipelined messages against child_process.fork
//   startup  to N workers listening against a bare fork loop (Node: the npm build)
//   reload   failed requests per rolling reload under load, at tcp_migrate_req 0 and 1
// How each figure is measured: bench/METHODOLOGY.md. Benchmarks are not tests: nothing here
// fails on a number, and `npm test` never runs it. Run it under `flock /tmp/bench.lock` on a
// shared machine, so that two benchmarks never run at once.
//
// Options: --quick (1 round, short windows: about 6 minutes on 2 cores), --rounds N,
// --runtimes node,deno,bun, --benches traffic,stall,ipc,startup,reload (a partial run writes
// RESULTS.md only for what it measured), --stall-rate N (the stalled-worker rate, req/s, when
// traffic is not measured in the same run), --no-write (print, leave the files alone).

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ipc } from "./_bench_ipc.ts";
import { hostMigrateReq, reload } from "./_bench_reload.ts";
import { stall } from "./_bench_stall.ts";
import { npmBuild, startup } from "./_bench_startup.ts";
import { traffic } from "./_bench_traffic.ts";
import {
  binary,
  HERE,
  killAll,
  liveGroups,
  machineCpuSeconds,
  ownCpuSeconds,
  ROOT,
  type Runtime,
  RUNTIMES,
  trackOwnCpu,
} from "./_lib.ts";
import { writeReport } from "./_report.ts";
import { emptyRuntime, type Results } from "./_results.ts";
import { RELOAD_MODES, variants } from "./_variants.ts";
import { WRK_MISSING, wrkVersion } from "./_wrk.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const value = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag("quick");
const ROUNDS = Number(value("rounds") ?? (quick ? 1 : 3));
const runtimes = (value("runtimes")?.split(",") ?? RUNTIMES) as Runtime[];
const ALL = ["traffic", "stall", "ipc", "startup", "reload"];
const benches = value("benches")?.split(",") ?? ALL;
const STALL_RATE = Number(value("stall-rate") ?? 1000);
// Every length and load in one place; --quick trades precision for a run of a few minutes.
const S = quick
  ? {
    traffic: { rounds: ROUNDS, warmupS: 1, measureS: 2, connections: 64 },
    stall: {
      rounds: ROUNDS,
      warmupMs: 1500, // Deno's first second queues (METHODOLOGY.md)
      durationMs: 3000,
      loadFraction: 0.25, // half of one worker's share: METHODOLOGY.md says why
      fallbackRate: STALL_RATE,
    },
    ipc: { rounds: ROUNDS, pingMs: 250, pipeMs: 400 },
    reload: { rounds: ROUNDS, reloads: 1, connections: 16, warmupMs: 300, settleMs: 300 },
  }
  : {
    traffic: { rounds: ROUNDS, warmupS: 2, measureS: 5, connections: 64 },
    stall: {
      rounds: ROUNDS,
      warmupMs: 1500, // Deno's first second queues (METHODOLOGY.md)
      durationMs: 8000,
      loadFraction: 0.25, // half of one worker's share: METHODOLOGY.md says why
      fallbackRate: STALL_RATE,
    },
    ipc: { rounds: ROUNDS, pingMs: 1000, pipeMs: 1500 },
    reload: { rounds: ROUNDS, reloads: 3, connections: 32, warmupMs: 1000, settleMs: 1000 },
  };

function log(message: string): void {
  console.error(message);
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

function version(runtime: Runtime): string {
  try {
    const out = execFileSync(binary(runtime), ["--version"], { encoding: "utf8" });
    return /\d+\.\d+\.\d+/.exec(out)?.[0] ?? out.split("\n")[0].trim();
  } catch {
    return "unknown";
  }
}

const wrk = wrkVersion();
if (!wrk && benches.some((b) => b === "traffic" || b === "reload")) {
  console.error(WRK_MISSING);
  process.exit(1);
}

const caveats: string[] = [];
if (benches.includes("startup") && runtimes.includes("node")) {
  const state = npmBuild();
  if (state === "absent") {
    log("bench: npm/ is absent; building it (node build_npm.ts --no-smoke)");
    execFileSync(binary("node"), [join(ROOT, "build_npm.ts"), "--no-smoke"], {
      cwd: ROOT,
      stdio: ["ignore", 2, 2], // stdout stays the JSON of --no-write
    });
  } else if (state === "stale") {
    caveats.push(
      "The npm build (npm/) was older than the sources: Node's `ours (npm build)` startup " +
        "measured older code. Rebuild with `node build_npm.ts` and rerun.",
    );
  }
}

// strictReloads is a cluster option of issue #10 section 3; measure it only once src/ has it.
const strict = ["src/options.ts", "src/primary.ts"].some((file) => {
  try {
    return /\bstrictReloads\??:/.test(readFileSync(join(ROOT, file), "utf8"));
  } catch {
    return false;
  }
});
const modes = Object.keys(RELOAD_MODES).filter((mode) => mode !== "strict" || strict);
if (benches.includes("reload") && !strict) {
  caveats.push("`strictReloads` is not a ClusterOptions field yet: its reload row is left out.");
}

const results: Results = {
  meta: {
    date: new Date().toISOString(),
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    quick,
    rounds: ROUNDS,
    settings: Object.fromEntries(
      Object.entries(S).flatMap(([bench, o]) =>
        Object.entries(o).map(([key, v]) => [`${bench}.${key}`, v])
      ),
    ),
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    kernel: `${os.type()} ${os.release()}`,
    loadBefore: os.loadavg()[0],
    loadAfter: NaN,
    otherCpu: NaN,
    versions: Object.fromEntries(RUNTIMES.map((rt) => [rt, version(rt)])),
    wrk: wrk ?? "absent",
    benches,
    labels: {},
    tcpMigrateReq: hostMigrateReq(),
    commit: git(["rev-parse", "--short", "HEAD"]) +
      (git(["status", "--porcelain", "--", "src", "adapters", "mod.ts"])
        ? " + uncommitted core changes"
        : ""),
    caveats,
  },
  runtimes: {},
};

const began = performance.now();
const busy0 = machineCpuSeconds();
const own0 = ownCpuSeconds();
trackOwnCpu();
log(
  `bench: ${runtimes.join(", ")}; ${benches.join(", ")}; ${ROUNDS} rounds${
    quick ? " (quick)" : ""
  }`,
);
for (const runtime of runtimes) {
  const r = (results.runtimes[runtime] = emptyRuntime());
  results.meta.labels[runtime] = Object.fromEntries(variants(runtime).map((v) => [v.id, v.label]));
  const t = performance.now();
  log(`${runtime} (${results.meta.versions[runtime]})`);
  if (benches.includes("traffic")) await traffic(runtime, r, S.traffic, log);
  if (benches.includes("stall")) r.stallLoad = await stall(runtime, r, S.stall, log);
  if (benches.includes("ipc")) await ipc(runtime, r, S.ipc, log);
  if (benches.includes("startup")) await startup(runtime, r, ROUNDS, log);
  log(`${runtime} done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}
if (benches.includes("reload")) {
  log(`reload (${modes.join(", ")})`);
  caveats.push(...await reload(runtimes, modes, results.runtimes, S.reload, log));
}
results.meta.loadAfter = os.loadavg()[0];
// What other processes used of the machine meanwhile: all busy CPU time less the harness's own.
const elapsed = (performance.now() - began) / 1000;
results.meta.otherCpu = ((machineCpuSeconds() - busy0 - (ownCpuSeconds() - own0)) /
  (elapsed * os.availableParallelism())) *
  100;
killAll();
const leftover = liveGroups();
if (leftover.length) log(`warning: process groups still alive: ${leftover.join(", ")}`);
log(`total ${((performance.now() - began) / 1000).toFixed(0)} s`);

if (flag("no-write")) {
  console.log(JSON.stringify(results, null, 2));
} else {
  mkdirSync(join(HERE, "charts"), { recursive: true });
  writeFileSync(join(HERE, "results.json"), JSON.stringify(results, null, 2) + "\n");
  writeReport(results, HERE);
  log("wrote bench/RESULTS.md, bench/results.json, bench/charts/*.svg");
}
process.exit(0);
