// Server process tree for bench/churn.ts: our Cluster with 2 workers answering "ok".
// BENCH_POLICY picks the policy, BENCH_PORT the port. The primary prints one JSON line on
// stdout: {"ready":true} once both workers listen, or {"skip":"<reason>"} if start() rejects the
// policy on this runtime. SIGTERM shuts the cluster down (the bench script also kills the group).

import process from "node:process";
import { Cluster, type Policy } from "../mod.ts";

const port = Number(process.env.BENCH_PORT);

if (Cluster.isPrimary) {
  const cluster = new Cluster({
    workers: 2,
    policy: (process.env.BENCH_POLICY ?? "round-robin") as Policy,
    shutdownTimeout: 2000,
  });
  let listening = 0;
  cluster.on("listening", () => {
    if (++listening === 2) console.log(JSON.stringify({ ready: true }));
  });
  cluster.on("error", (error) => console.error(`bench server: ${error.message}`));
  process.once("SIGTERM", async () => {
    await cluster.shutdown().catch(() => {});
    process.exit(0);
  });
  try {
    await cluster.start();
  } catch (error) {
    const e = error as { code?: string; message?: string };
    console.log(JSON.stringify({ skip: `${e.code ?? "error"}: ${e.message}` }));
    await cluster.shutdown().catch(() => {});
    process.exit(0);
  }
} else {
  await Cluster.worker.serve({ port, hostname: "127.0.0.1" }, () => new Response("ok"));
}
