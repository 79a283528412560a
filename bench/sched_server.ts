// The cluster of bench/sched_slow_worker.ts: `round-robin` with the scheduler under test, where
// worker 1's handler takes 20 ms (awaited, or with "block": a busy event loop) and the others
// answer at once. Each response names its worker (`x-worker`), which bench/_open_loop.ts counts.
//
// Usage: <runtime> bench/sched_server.ts '{"scheduler":"power-of-two","workers":4,"slowMs":20,"block":false}'
// Prints {"port": N} once every worker listens.

import process from "node:process";
import { Cluster, type SchedulerName } from "../mod.ts";

interface Settings {
  scheduler: SchedulerName;
  workers: number;
  slowMs: number;
  block: boolean;
}

const s = JSON.parse(process.argv[2] ?? process.env.SCHED_BENCH ?? "{}") as Settings;

if (Cluster.isPrimary) {
  const cluster = new Cluster({
    workers: s.workers,
    policy: "round-robin",
    scheduler: s.scheduler,
    // The workers read their settings here (argv goes to the primary's script only on Deno).
    env: { SCHED_BENCH: JSON.stringify(s) },
    respawn: false,
  });
  let port = 0;
  cluster.on("listening", (_worker, address) => (port = address.port));
  await cluster.start();
  console.log(JSON.stringify({ port }));
  process.stdin.on("data", () => {}).on("end", () => cluster.shutdown().then(() => process.exit(0)));
} else {
  const id = Cluster.worker.id;
  const headers = { "x-worker": String(id) };
  await Cluster.worker.serve({ port: 0, hostname: "127.0.0.1" }, async () => {
    if (id === 1 && s.slowMs > 0) {
      if (s.block) {
        const end = performance.now() + s.slowMs;
        while (performance.now() < end); // a busy loop: the worker cannot even ack handoffs
      } else {
        await new Promise((resolve) => setTimeout(resolve, s.slowMs)); // slow I/O
      }
    }
    return new Response("ok", { headers });
  });
}
