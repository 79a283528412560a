// Server process tree for bench/churn.ts: the runtime's own `node:cluster`, round-robin
// (SCHED_RR set before forking), 2 workers each running a node:http server answering "ok".
// Prints {"ready":true} on stdout once both workers listen.

import cluster from "node:cluster";
import http from "node:http";
import process from "node:process";

const port = Number(process.env.BENCH_PORT);

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  let listening = 0;
  cluster.on("listening", () => {
    if (++listening === 2) console.log(JSON.stringify({ ready: true }));
  });
  process.once("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
  cluster.fork();
  cluster.fork();
} else {
  http.createServer((_req, res) => res.end("ok")).listen(port, "127.0.0.1");
}
