// Worker of bench/_startup.ts (ours): serves round-robin on port 0.

import { Cluster } from "../mod.ts";

await Cluster.worker.serve({ port: 0, hostname: "127.0.0.1" }, () => new Response("ok"));
