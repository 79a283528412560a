// Worker of bench/_startup.ts (ours): serves round-robin on port 0, from the npm build when
// BENCH_NPM=1 (what Node users install), else from the sources.

import process from "node:process";

const mod = process.env.BENCH_NPM === "1" ? "../npm/esm/mod.js" : "../mod.ts";
const { Cluster } = await import(mod) as typeof import("../mod.ts");
await Cluster.worker.serve({ port: 0, hostname: "127.0.0.1" }, () => new Response("ok"));
