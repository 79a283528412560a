// Server tree of bench/run.ts: our Cluster, BENCH_WORKERS workers (2) answering with their id.
// BENCH_POLICY picks the policy, BENCH_PORT the port. The primary prints {"ready":true} once all
// workers listen, or {"skip":"<reason>"} if start() rejects the policy on this runtime.

import process from "node:process";
import { Cluster, type Policy } from "../mod.ts";
import { control, maybeStall, PORT, WORKERS } from "./_server_common.ts";

if (Cluster.isPrimary) {
  const cluster = new Cluster({
    workers: WORKERS,
    policy: (process.env.BENCH_POLICY ?? "round-robin") as Policy,
    shutdownTimeout: 1000,
    // The bench tree is killed as a group: no respawn, no signal handling of its own.
    respawn: false,
    signals: false,
  });
  let listening = 0;
  cluster.on("listening", () => {
    if (++listening === WORKERS) console.log(JSON.stringify({ ready: true }));
  });
  cluster.on("error", (error) => console.error(`bench server: ${error.message}`));
  control(() => cluster.shutdown());
  try {
    await cluster.start();
  } catch (error) {
    const e = error as { code?: string; message?: string };
    console.log(JSON.stringify({ skip: `${e.code ?? "error"}: ${e.message}` }));
    await cluster.shutdown().catch(() => {});
    process.exit(0);
  }
} else {
  const id = Cluster.worker.id;
  const body = String(id);
  await Cluster.worker.serve({ port: PORT, hostname: "127.0.0.1" }, () => new Response(body));
  maybeStall(id);
}
