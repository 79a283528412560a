// Server tree of bench/run.ts: the runtime's own `node:cluster`, BENCH_WORKERS workers (2), each
// a node:http server answering hello world. BENCH_SCHED=rr sets SCHED_RR before forking,
// BENCH_SCHED=none SCHED_NONE (the workers accept on the shared listen socket). Prints
// {"ready":true,"workers":N} once all workers listen.

import cluster from "node:cluster";
import http from "node:http";
import process from "node:process";
import {
  control,
  HOSTNAME,
  maybeStall,
  nodeHandler,
  PORT,
  say,
  WORKERS,
} from "./_server_common.ts";

if (cluster.isPrimary) {
  cluster.schedulingPolicy = process.env.BENCH_SCHED === "none"
    ? cluster.SCHED_NONE
    : cluster.SCHED_RR;
  let listening = 0;
  cluster.on("listening", () => {
    if (++listening === WORKERS) say({ ready: true, workers: WORKERS });
  });
  control(() => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
  });
  for (let i = 0; i < WORKERS; i++) cluster.fork();
} else {
  const id = cluster.worker!.id;
  http.createServer(nodeHandler(id)).listen(PORT, HOSTNAME);
  maybeStall(id);
}
