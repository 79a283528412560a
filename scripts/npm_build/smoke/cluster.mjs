// Smoke test: a one-worker cluster from the installed package's ES module build. The primary
// starts one worker, waits for its message and shuts down; prints `SMOKE_OK <message>`.

import { Cluster } from "@x/cluster";

if (Cluster.isPrimary) {
  const cluster = new Cluster({ workers: 1, readiness: "online" });
  const received = new Promise((resolve) => {
    cluster.on("message", (worker, message) => resolve({ worker, message }));
  });
  await cluster.start();
  const { worker, message } = await received;
  if (message?.hello === undefined) {
    throw new Error(`unexpected message ${JSON.stringify(message)}`);
  }
  if (worker.id !== message.hello) {
    throw new Error(`the message from worker ${worker.id} says ${message.hello}`);
  }
  await cluster.shutdown();
  console.log(`SMOKE_OK ${JSON.stringify(message)}`);
} else {
  Cluster.worker.send({ hello: Cluster.worker.id });
}
