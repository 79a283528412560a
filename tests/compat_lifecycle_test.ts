// node:cluster's Worker constructor, listener exceptions, early messages and disconnects, sent
// sockets and the faux handle, through @x/cluster/compat on real processes
// (tests/fixtures/compat_lifecycle.ts).
import assert from "node:assert/strict";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { test } from "node:test";
import { runtime } from "./_helpers.ts";
import { freePort, next, tcpRead, withFixture } from "./_compat_helpers.ts";

const FIXTURE = "compat_lifecycle.ts";

test("compat: cluster.Worker() works without new; a process's message and error are the worker's", async () => {
  await withFixture(FIXTURE, { SCENARIO: "worker-constructor" }, async (app) => {
    const made = await next(app, (e) => e.ev === "constructed");
    assert.deepEqual(made.plain, {
      isWorker: true,
      id: 0,
      state: "none",
      exitedAfterDisconnect: null,
    });
    assert.deepEqual(made.made, { id: 3, state: "online", connected: true });
    assert.deepEqual(made.seen, [{ message: { hi: 1 }, handle: null }, { error: "bad" }]);
    // In the worker, process.emit("error") reaches cluster.worker's `error` listener.
    const message = await next(app, (e) => e.ev === "message");
    assert.deepEqual(message.message, { workerError: "from process" });
    assert.deepEqual(await next(app, (e) => e.ev === "exit"), {
      ev: "exit",
      code: 0,
      signal: null,
    });
  });
});

test("compat: an exception in a cluster listener is an uncaught exception of the primary", async () => {
  await withFixture(FIXTURE, { SCENARIO: "listener-throws" }, async (app) => {
    const uncaught = await next(app, (e) => e.ev === "uncaught");
    assert.equal(uncaught.message, "thrown by an online listener");
    await next(app, (e) => e.ev === "exit");
  });
});

test("compat: messages sent before online come after it, in order; an early disconnect() is made", async () => {
  await withFixture(FIXTURE, { SCENARIO: "early" }, async (app) => {
    const exit = await next(app, (e) => e.ev === "exit");
    assert.deepEqual(exit.order, ["online", { n: 1 }, { n: 2 }, { n: 3 }, "disconnect"]);
    assert.equal(exit.code, 0);
    assert.equal(exit.after, true, "exitedAfterDisconnect");
  });
});

// Deno 2.9: a socket the worker got from the primary and sends back with process.send() is
// lost in about 2 runs of 5 (no message arrives; seen since c3ad910, reported to the lead).
test("compat: a socket a worker sends with process.send() leaves its server, which can close", {
  skip: runtime === "deno" && "Deno loses the sent socket in about 2 runs of 5",
}, async () => {
  const port = await freePort();
  await withFixture(FIXTURE, { SCENARIO: "send-socket", PORT: String(port) }, async (app) => {
    await next(app, (e) => e.ev === "message");
    assert.equal(await tcpRead(port), "from the primary\n");
    assert.equal((await next(app, (e) => e.ev === "got-socket")).isSocket, true);
    const closed = await next(app, (e) => e.ev === "message" && "closed" in (e.message as object));
    assert.deepEqual(closed.message, { closed: true, connections: false });
    assert.equal((await next(app, (e) => e.ev === "exit")).code, 0);
  });
});

test("compat: a listening worker stays alive with its channel unref'd, until server.unref()", async () => {
  const port = await freePort();
  await withFixture(FIXTURE, { SCENARIO: "keep-alive", PORT: String(port) }, async (app) => {
    await next(app, (e) => e.ev === "message" && "alive" in (e.message as object));
    const exit = await next(app, (e) => e.ev === "exit");
    assert.deepEqual([exit.code, exit.signal], [0, null]);
  });
});

test("compat: a disconnecting worker's servers emit close before its disconnect", async () => {
  const port = await freePort();
  await withFixture(
    FIXTURE,
    { SCENARIO: "close-before-disconnect", PORT: String(port) },
    async (app) => {
      assert.deepEqual((await next(app, (e) => e.ev === "worker-order")).order, [
        "close",
        "disconnect",
      ]);
      assert.equal((await next(app, (e) => e.ev === "exit")).code, 0);
    },
  );
});

test("compat: listen({ reusePort: true }) binds in each worker, not through the primary", async () => {
  const port = await freePort();
  await withFixture(FIXTURE, { SCENARIO: "reuse-port", PORT: String(port) }, async (app) => {
    const bound = await app.waitFor((e) => e.ev === "message", 2);
    for (const e of bound) {
      assert.deepEqual(e.message, { bound: port });
      assert.equal(e.clusterListening, 0, "no cluster 'listening' for a reusePort bind");
    }
    const ids = new Set<string>();
    for (let i = 0; i < 20 && ids.size < 2; i++) ids.add((await tcpRead(port)).trim());
    assert.deepEqual([...ids].sort(), ["1", "2"]);
  });
});

test("compat: an asked-for disconnect lets the worker end by itself; process.disconnect() ends it", async () => {
  const socket = path.join(os.tmpdir(), `x-cluster-linger-${process.pid}.sock`);
  await withFixture(FIXTURE, { SCENARIO: "linger", SOCKET: socket }, async (app) => {
    const exits = await app.waitFor((e) => e.ev === "exit", 2);
    const by = Object.fromEntries(exits.map((e) => [e.how, [e.code, e.signal]]));
    assert.deepEqual(by.asked, [42, null]);
    // Deno 2.9: the worker's IPC write after the primary closed the channel throws an uncaught
    // BrokenPipe (no stack, from Deno's own channel) in about 3 runs of 4, so it exits with 1.
    if (runtime !== "deno") assert.deepEqual(by.forced, [0, null]);
    else assert.ok([0, 1].includes(by.forced[0] as number), `forced: ${by.forced}`);
    assert.ok(app.events.some((e) => e.ev === "pipe-closed"), "the pipe server closed");
    assert.ok(app.events.some((e) => e.ev === "udp-closed"), "the UDP socket closed");
  });
});

test("compat: a worker is online before its program runs, so a busy one can be killed", {
  // Deno writes IPC messages from its event loop: a worker that never yields sends nothing.
  skip: runtime === "deno" && "Deno cannot send from a worker that never yields",
}, async () => {
  await withFixture(FIXTURE, { SCENARIO: "busy" }, async (app) => {
    const exit = await next(app, (e) => e.ev === "exit", 10_000);
    assert.deepEqual([exit.code, exit.signal], [null, "SIGTERM"]);
  });
});

// Deno 2.9.6 drops what a process.disconnect() finds unwritten (compat/_process_disconnect.ts).
test("compat: what a worker sends right before its process.disconnect() reaches the primary, nothing after it", async () => {
  await withFixture(FIXTURE, { SCENARIO: "send-then-disconnect" }, async (app) => {
    const exit = await next(app, (e) => e.ev === "exit");
    const seen = exit.seen as unknown[];
    assert.deepEqual(
      seen.map((m) => (typeof m === "object" && m !== null ? (m as { n: number }).n : m)),
      [1, 2, 3, "disconnect"],
    );
    assert.equal((seen[1] as { big: string }).big.length, 100_000);
    // Node's process.disconnect(): `connected` is false at once, later sends fail, unsent.
    const after = await next(app, (e) => e.ev === "after-disconnect");
    assert.equal(after.connected, false);
    assert.equal(after.returned, false);
    assert.deepEqual(after.errors, [
      { callback: "ERR_IPC_CHANNEL_CLOSED" },
      { event: "ERR_IPC_CHANNEL_CLOSED" },
    ]);
    assert.equal(exit.code, 0);
    assert.equal(exit.signal, null);
  });
});
