// Child of bench/_ipc.ts for our Cluster: echoes every message with Cluster.worker.send().

import { Cluster } from "../mod.ts";

const worker = Cluster.worker;
worker.on("message", (message) => void worker.send(message).catch(() => {}));
