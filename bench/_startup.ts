// Startup benchmark of bench/run.ts, run under the runtime it measures, one fresh process per
// sample: <runtime> bench/_startup.ts <ours|node-cluster|bare> <N>
// - ours: ms from importing the package (adapter load included), `new Cluster({workers: N})` and
//   `start()` until all N workers emitted "listening" (bench/_startup_worker_ours.ts serves
//   round-robin on port 0); with BENCH_NPM=1 primary and workers load the npm build (npm/esm/);
// - node-cluster: ms from the first `cluster.fork()` of a bare fork loop until N "listening"
//   (bench/_startup_worker_node.ts: node:http listen(0) in a node:cluster worker);
// - bare: ms from spawning one runtime process running bench/_startup_worker_bare.ts (node:http
//   listen(0)) until it says it listens; N is ignored (one boot).
// Prints {"ms": N}.

import { spawn } from "node:child_process";
import cluster from "node:cluster";
import process from "node:process";
import { fileURLToPath } from "node:url";

const [variant, count] = [process.argv[2], Number(process.argv[3])];
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
let ms: number;

if (variant === "ours") {
  const t0 = performance.now();
  const mod = process.env.BENCH_NPM === "1" ? "../npm/esm/mod.js" : "../mod.ts";
  const { Cluster } = await import(mod) as typeof import("../mod.ts");
  const c = new Cluster({
    workers: count,
    exec: here("./_startup_worker_ours.ts"),
    respawn: false,
    signals: false,
    shutdownTimeout: 1000,
  });
  let listening = 0;
  const all = new Promise<void>((resolve) =>
    c.on("listening", () => ++listening === count && resolve())
  );
  await c.start();
  await all;
  ms = performance.now() - t0;
  await Promise.race([c.shutdown(), new Promise((r) => setTimeout(r, 1500))]);
} else if (variant === "node-cluster") {
  cluster.setupPrimary({ exec: here("./_startup_worker_node.ts") });
  const t0 = performance.now();
  let listening = 0;
  await new Promise<void>((resolve) => {
    cluster.on("listening", () => ++listening === count && resolve());
    for (let i = 0; i < count; i++) cluster.fork();
  });
  ms = performance.now() - t0;
  for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
} else {
  const file = here("./_startup_worker_bare.ts");
  const t0 = performance.now();
  const child = deno
    ? spawn(deno.execPath(), ["run", "-A", file], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => child.stdout!.once("data", resolve));
  ms = performance.now() - t0;
  child.kill();
}
console.log(JSON.stringify({ ms }));
process.exit(0);
