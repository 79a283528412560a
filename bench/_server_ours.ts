// Server tree of bench/run.ts: our Cluster, BENCH_WORKERS workers (2) answering with their id.
// BENCH_POLICY picks the policy, BENCH_PORT the port. BENCH_API=listen serves a node:http server
// through `Cluster.worker.listen()` (the same server code as the node:cluster workers);
// otherwise a fetch handler through `Cluster.worker.serve()` (node:http behind our fetch bridge,
// or Deno.serve / Bun.serve for reuse-port). The primary prints {"ready":true} once all
// workers listen, or {"skip":"<reason>"} if start() rejects the policy on this runtime.

import http from "node:http";
import process from "node:process";
import { Cluster, type Policy } from "../mod.ts";
import { control, maybeStall, PORT, WORKERS } from "./_server_common.ts";

if (Cluster.isPrimary) {
  const cluster = new Cluster({
    workers: WORKERS,
    policy: (process.env.BENCH_POLICY ?? "round-robin") as Policy,
    shutdownTimeout: 1000,
    // For experiments only (bench/run.ts never sets it): round-robin handoffs in flight.
    ...(process.env.BENCH_MAX_IN_FLIGHT
      ? { maxInFlight: Number(process.env.BENCH_MAX_IN_FLIGHT) }
      : {}),
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
  const where = { port: PORT, hostname: "127.0.0.1" };
  if (process.env.BENCH_API === "listen") {
    await Cluster.worker.listen(http.createServer((_req, res) => res.end(body)), where);
  } else {
    await Cluster.worker.serve(where, () => new Response(body));
  }
  maybeStall(id);
}
