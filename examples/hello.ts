// The main demo (`npm start`): a clustered HTTP server on all cores. The primary sends a few
// requests to itself and prints which worker answered each, then keeps serving until Ctrl+C
// (workers that crash are restarted; SIGHUP reloads them without dropping a request).
// Run it with any runtime: `node examples/hello.ts`, `deno run -A examples/hello.ts`,
// `bun examples/hello.ts`. PORT picks the port (default 8000), POLICY the scheduling policy.

import process from "node:process";
import { Cluster, type Policy } from "../mod.ts";

const port = Number(process.env.PORT ?? 8000);

if (Cluster.isPrimary) {
  const policy = (process.env.POLICY ?? "round-robin") as Policy;
  const cluster = new Cluster({ policy });
  cluster.on("exit", (worker, code, signal) => {
    console.log(`worker ${worker.id} (slot ${worker.slot}) exited (${signal ?? code})`);
  });
  // Count "listening" from the start: early workers may bind before start() resolves.
  const allListening = new Promise<void>((resolve) => {
    let listening = 0;
    cluster.on("listening", () => ++listening === cluster.workers.size && resolve());
  });
  await cluster.start();
  await allListening;
  console.log(`${cluster.workers.size} workers serve http://127.0.0.1:${port}/ (${policy})`);
  for (let i = 0; i < 6; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
    console.log(`request ${i + 1}: ${(await response.text()).trim()}`);
  }
  // The cluster handles signals itself: Ctrl+C (SIGINT) or SIGTERM drain the workers and exit,
  // SIGHUP reloads them one by one, SIGTTIN/SIGTTOU add or remove one.
  console.log(`Press Ctrl+C to stop; \`kill -HUP ${process.pid}\` reloads with zero downtime.`);
} else {
  const worker = Cluster.worker;
  await worker.serve(
    { port, hostname: "127.0.0.1" },
    () => new Response(`hello from worker ${worker.id} (pid ${process.pid})\n`),
  );
}
