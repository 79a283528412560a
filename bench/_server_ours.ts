// Server tree of bench/run.ts and bench/_reload.ts: our Cluster answering hello world.
// - BENCH_CONFIG=default: `new Cluster()` with no options at all (what a new user gets: one worker
//   per CPU, every default), and `Cluster.worker.serve()` with only the address;
// - otherwise `new Cluster({ workers: BENCH_WORKERS, policy: BENCH_POLICY })`, plus
//   `strictReloads: true` with BENCH_STRICT=1; BENCH_API=listen serves a node:http server through
//   `Cluster.worker.listen()` (the same server code as the node:cluster workers), else a fetch
//   handler through `Cluster.worker.serve()`.
// The primary prints {"ready":true,"workers":N} once start() resolved, or {"skip":"<reason>"} if
// it rejected (a policy this runtime cannot serve). The line `reload` on stdin runs
// `cluster.reload()` and prints {"reloaded": ms} or {"reloadFailed": message}.

import http from "node:http";
import process from "node:process";
import { Cluster, type ClusterOptions, type Policy } from "../mod.ts";
import {
  control,
  fetchHandler,
  HOSTNAME,
  maybeStall,
  nodeHandler,
  PORT,
  say,
  WORKERS,
} from "./_server_common.ts";

if (Cluster.isPrimary) {
  const env = process.env;
  // Built as a plain record: `strictReloads` is typed only once src/ has it (run.ts checks).
  const options: Record<string, unknown> = env.BENCH_CONFIG === "default" ? {} : {
    workers: WORKERS,
    ...(env.BENCH_POLICY ? { policy: env.BENCH_POLICY as Policy } : {}),
    ...(env.BENCH_STRICT === "1" ? { strictReloads: true } : {}),
  };
  const cluster = new Cluster(options as ClusterOptions);
  cluster.on("error", (error) => console.error(`bench server: ${error.message}`));
  control(() => cluster.shutdown(), async (line) => {
    if (line !== "reload") return;
    const t0 = performance.now();
    try {
      await cluster.reload();
      say({ reloaded: performance.now() - t0 });
    } catch (error) {
      say({ reloadFailed: (error as Error).message });
    }
  });
  try {
    await cluster.start();
    say({ ready: true, workers: cluster.workers.size });
  } catch (error) {
    const e = error as { code?: string; message?: string };
    say({ skip: `${e.code ?? "error"}: ${e.message}` });
    await cluster.shutdown().catch(() => {});
    process.exit(0);
  }
} else {
  const id = Cluster.worker.id;
  const where = { port: PORT, hostname: HOSTNAME };
  if (process.env.BENCH_API === "listen") {
    await Cluster.worker.listen(http.createServer(nodeHandler(id)), where);
  } else {
    await Cluster.worker.serve(where, fetchHandler(id));
  }
  maybeStall(id);
}
