// `server.maxConnections` of a worker's server is honoured as Node honours it: round-robin
// hands a connection the worker refuses to another worker (Node's cluster child refuses it),
// and a connection a worker's own listener accepted beyond the limit is closed with a `drop`
// event (tests/fixtures/max_connections.ts).
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { runtime, withFixture } from "./_helpers.ts";
import type { App } from "./_helpers.ts";

/** Opens a connection and resolves with its first line, or "" if the server closed it. */
function greeting(port: number, open: net.Socket[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    open.push(socket);
    socket.setTimeout(10_000, () => socket.destroy(new Error("no greeting")));
    let data = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => {
      data += chunk;
      if (data.includes("\n")) {
        socket.setTimeout(0);
        resolve(data.trim());
      }
    });
    socket.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "ECONNRESET" ? resolve("") : reject(error)
    );
    socket.once("close", () => resolve(data.trim()));
  });
}

async function greetings(app: App, count: number): Promise<string[]> {
  const [{ port }] = await app.waitFor((e) => e.ev === "listening");
  const open: net.Socket[] = [];
  try {
    const answers: string[] = [];
    // One at a time: each is counted by its worker before the next arrives.
    for (let i = 0; i < count; i++) answers.push(await greeting(port as number, open));
    return answers;
  } finally {
    for (const socket of open) socket.destroy();
  }
}

test("round-robin: connections a worker at maxConnections refuses go to another worker", async () => {
  await withFixture("max_connections.ts", { POLICY: "round-robin" }, async (app) => {
    const answers = await greetings(app, 3);
    // Worker 1 takes none (limit 0), worker 2 takes two; the third has no worker left.
    assert.deepEqual(answers, ["worker 2", "worker 2", ""]);
    assert.equal(app.events.filter((e) => e.ev === "drop").length, 0, "no drop: refused, not accepted");
  });
});

test("reuse-port: a worker's listener closes connections beyond maxConnections with `drop`", async () => {
  await withFixture("max_connections.ts", { POLICY: "reuse-port" }, async (app) => {
    const answers = await greetings(app, 8);
    // The kernel spreads them: worker 2 greets at most two, every other one is closed.
    const greeted = answers.filter((a) => a !== "");
    assert.ok(greeted.every((a) => a === "worker 2"), answers.join());
    assert.ok(greeted.length <= 2, answers.join());
    const drops = await app.waitFor((e) => e.ev === "drop", 8 - greeted.length);
    assert.ok(drops.every((e) => e.remote === "number"), JSON.stringify(drops));
  });
});

test("shared: the workers' one listen socket honours each server's maxConnections", async () => {
  await withFixture("max_connections.ts", { POLICY: "shared" }, async (app) => {
    if (runtime === "deno") {
      // Deno's child_process moves a listen socket instead of sharing it (a declared capability).
      const [failed] = await app.waitFor((e) => e.ev === "start-failed" || e.ev === "listening");
      assert.deepEqual(failed, { ev: "start-failed", code: "UNSUPPORTED" });
      return;
    }
    const answers = await greetings(app, 6);
    const greeted = answers.filter((a) => a !== "");
    assert.ok(greeted.every((a) => a === "worker 2") && greeted.length <= 2, answers.join());
    await app.waitFor((e) => e.ev === "drop", 6 - greeted.length);
  });
});
