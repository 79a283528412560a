import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { loadAdapter } from "../adapters/mod.ts";

function listen(port: number): Promise<net.Server> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host: "127.0.0.1", reusePort: true } as net.ListenOptions, () =>
      resolve(server));
  });
}

test("adopt(): connections accepted on an adopted socket are relayed, bytes and all", async () => {
  const adapter = await loadAdapter();
  // Two sockets of one SO_REUSEPORT group: `adopted` stands for a socket passing through the
  // primary during a reload, `worker` for the worker that keeps serving the address.
  const worker = await listen(0);
  const port = (worker.address() as net.AddressInfo).port;
  const adopted = await listen(port);
  worker.on("connection", (socket) => {
    socket.once("data", (data) => socket.end(`worker got ${data}`));
  });
  let accepted = 0;
  adopted.on("connection", () => accepted++);
  const listener = adapter.adopt(adopted);
  const replies: Promise<string>[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      replies.push(
        new Promise((resolve, reject) => {
          const client = net.connect(port, "127.0.0.1", () => client.write(`ping ${i}`));
          let data = "";
          client.setTimeout(5000, () => client.destroy(new Error("timeout")));
          client.on("data", (chunk) => (data += chunk));
          client.on("close", () => resolve(data));
          client.on("error", reject);
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the clients' bytes arrive
    assert.ok(accepted > 0, "some connections landed on the adopted socket (kernel hash)");
    await listener.close();
    const answers = await Promise.all(replies);
    assert.deepEqual(answers, answers.map((_, i) => `worker got ping ${i}`));
  } finally {
    worker.close();
    adopted.close();
  }
});
