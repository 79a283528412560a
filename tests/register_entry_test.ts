// `@x/cluster/register`: node:cluster programs and libraries that never name @x/cluster get our
// cluster for the whole process (node --import, bun --preload); Deno refuses it with a reason.
import assert from "node:assert/strict";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runtime } from "./_helpers.ts";
import { freePort, next, tcpRead, withFixture } from "./_compat_helpers.ts";

const REGISTER = fileURLToPath(new URL("../register.ts", import.meta.url));
const FLAGS = runtime === "node"
  ? ["--import", REGISTER]
  : runtime === "bun"
  ? ["--preload", REGISTER]
  : ["-A", "--preload", REGISTER];

function readSocket(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    const socket = net.connect(file);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer on ${file}`)));
    socket.setEncoding("utf8").on("data", (chunk: string) => (data += chunk));
    socket.once("error", reject);
    socket.once("close", () => resolve(data));
  });
}

test("register: prom-client's AggregatorRegistry.clusterMetrics() gets every worker's metrics", {
  skip: runtime === "deno" && "Deno refuses the register entry (next test)",
}, async () => {
  await withFixture("register_prom.cjs", {}, async (app) => {
    assert.deepEqual(await next(app, (e) => e.ev === "primary"), {
      ev: "primary",
      ours: true,
      same: true,
    });
    const workers = await app.waitFor((e) => e.ev === "worker", 2);
    for (const w of workers) assert.deepEqual([w.ours, w.isWorker], [true, true]);
    const metrics = await next(app, (e) => e.ev === "metrics" || e.ev === "metrics-error", 20_000);
    assert.equal(metrics.ev, "metrics", JSON.stringify(metrics));
    const lines = (metrics.text as string).split("\n").filter((l) => l.startsWith("fixture_"));
    assert.deepEqual(lines.sort(), [
      'fixture_jobs_total{worker="1"} 10',
      'fixture_jobs_total{worker="2"} 20',
    ]);
    const exits = await app.waitFor((e) => e.ev === "exit", 2);
    for (const exit of exits) assert.deepEqual([exit.code, exit.signal], [0, null]);
  }, FLAGS);
});

test("register: import and require of node:cluster and cluster are ours; workers share ports", {
  skip: runtime === "deno" && "Deno refuses the register entry (next test)",
}, async () => {
  const port = await freePort();
  const socket = path.join(os.tmpdir(), `x-cluster-register-${process.pid}-${port}.sock`);
  await withFixture("register_esm.mjs", { PORT: String(port), SOCKET: socket }, async (app) => {
    assert.deepEqual(await next(app, (e) => e.ev === "primary"), {
      ev: "primary",
      ours: true,
      same: true,
    });
    const listening = await app.waitFor((e) => e.ev === "listening", 2);
    assert.deepEqual(
      listening.map((e) => [e.addressType, e.port]).sort(),
      [[-1, -1], [4, port]].sort(),
    );
    const message = await next(app, (e) => e.ev === "message");
    assert.deepEqual(message.message, { id: 1, ours: true, isWorker: true, socket: true });
    assert.equal(await tcpRead(port), "worker 1\n");
    assert.equal(await readSocket(socket), "local\n", "the Unix socket reaches the worker");
    app.command({});
    assert.deepEqual(await next(app, (e) => e.ev === "exit"), {
      ev: "exit",
      code: 0,
      signal: null,
    });
  }, FLAGS);
});

test("register: Deno refuses it with UNSUPPORTED and says what to do", {
  skip: runtime !== "deno" && "only Deno refuses the register entry",
}, async () => {
  await withFixture("register_esm.mjs", { PORT: "0", SOCKET: "" }, async (app) => {
    const { code } = await app.exited();
    assert.notEqual(code, 0);
    const stderr = app.stderr.join("");
    assert.match(stderr, /Cannot register @x\/cluster as node:cluster on Deno/);
    assert.match(stderr, /import @x\/cluster\/compat instead of node:cluster/);
    assert.deepEqual(app.events, [], "the program never ran");
  }, FLAGS);
});
