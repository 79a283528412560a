// The node:cluster surface of @x/cluster/compat, on real processes (tests/fixtures/compat_surface.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { get, runtime } from "./_helpers.ts";
import { type Event, freePort, next, tcpRead, withFixture } from "./_compat_helpers.ts";

const FIXTURE = "compat_surface.ts";
const msg = (e: Event) => e.msg as Record<string, unknown>;

test("compat: the cluster object has node:cluster's members and policy", async () => {
  await withFixture(FIXTURE, {}, async (app) => {
    const ready = await next(app, (e) => e.ev === "ready");
    assert.equal(ready.policy, 2, "SCHED_RR by default");
    assert.deepEqual(ready.keys, [
      "SCHED_NONE",
      "SCHED_RR",
      "Worker",
      "disconnect",
      "fork",
      "isMaster",
      "isPrimary",
      "isWorker",
      "schedulingPolicy",
      "settings",
      "setupMaster",
      "setupPrimary",
      "worker",
      "workers",
    ]);
  });
  await withFixture(FIXTURE, { NODE_CLUSTER_SCHED_POLICY: "none" }, async (app) => {
    assert.equal(
      (await next(app, (e) => e.ev === "ready")).policy,
      1,
      "SCHED_NONE from Node's variable",
    );
  });
  await withFixture(
    FIXTURE,
    { NODE_CLUSTER_SCHED_POLICY: "none", XCLUSTER_SCHED_POLICY: "rr" },
    async (app) => {
      assert.equal((await next(app, (e) => e.ev === "ready")).policy, 2, "ours wins over Node's");
    },
  );
});

test("compat: fork(env) emits setup, fork, online, listening in Node's order", async () => {
  const port = await freePort();
  const env = { PORT: String(port), SETUP: JSON.stringify({ args: ["--flag"] }) };
  await withFixture(FIXTURE, env, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork", env: { EXTRA: "yes" } });
    const forked = await next(app, (e) => e.ev === "forked");
    assert.deepEqual(forked, { ev: "forked", id: 1, inWorkers: true, state: "none", after: null });
    const listening = await next(app, (e) => e.ev === "listening");
    assert.deepEqual(listening.address, { addressType: 4, address: "127.0.0.1", port });
    assert.equal(listening.state, "listening");
    const order = app.events.map((e) => e.ev).filter((ev) =>
      ["setup", "fork", "online", "listening"].includes(ev)
    );
    assert.deepEqual(order.slice(0, 5), ["setup", "setup", "fork", "online", "listening"]);
    assert.deepEqual(app.events.find((e) => e.ev === "setup")!.args, ["--flag"]);
    app.command({ cmd: "send", id: 1, msg: { hello: 1 } });
    const echo = await next(app, (e) => e.ev === "message" && "echo" in msg(e));
    assert.deepEqual(echo.msg, {
      echo: { hello: 1 },
      isWorker: true,
      isPrimary: false,
      env: "yes",
      from: 1,
    });
    assert.ok(app.events.some((e) => e.ev === "send-returned" && e.value === true));
    assert.ok(app.events.some((e) => e.ev === "sent" && e.error === null), "send's callback ran");
    // The worker-side listener of `worker.on('message')` sees the same messages.
    app.command({ cmd: "send", id: 1, msg: { op: "ping" } });
    await next(app, (e) => e.ev === "worker-message" && msg(e).pong === true);
    await next(
      app,
      (e) =>
        e.ev === "message" && "echo" in msg(e) && (msg(e).echo as { op?: string }).op === "ping",
    );
    // process.on("message") in the worker saw only user messages, never the cluster's own.
    const seen = app.events.filter((e) => e.ev === "message" && "echo" in msg(e)).map((e) =>
      msg(e).echo
    );
    assert.deepEqual(seen, [{ hello: 1 }, { op: "ping" }]);
  });
});

test("compat: disconnect() removes the worker at once; disconnect then exit, exitedAfterDisconnect true", async () => {
  await withFixture(FIXTURE, {}, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    await next(app, (e) => e.ev === "listening");
    app.command({ cmd: "disconnect", id: 1 });
    assert.deepEqual(await next(app, (e) => e.ev === "disconnect-called"), {
      ev: "disconnect-called",
      id: 1,
      inWorkers: false,
      after: true,
    });
    const exit = await next(app, (e) => e.ev === "exit");
    const disconnect = app.events.find((e) => e.ev === "disconnect")!;
    assert.ok(app.events.indexOf(disconnect) < app.events.indexOf(exit), "disconnect before exit");
    assert.equal(disconnect.after, true);
    assert.equal(disconnect.state, "disconnected");
    assert.deepEqual({ ...exit, ev: undefined }, {
      ev: undefined,
      id: 1,
      code: 0,
      signal: null,
      after: true,
      inWorkers: false,
      dead: true,
      connected: false,
      state: "dead",
    });
  });
});

test("compat: kill() and a crash give exit with exitedAfterDisconnect false", async () => {
  await withFixture(FIXTURE, {}, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    app.command({ cmd: "fork" });
    await app.waitFor((e) => e.ev === "listening", 2);
    app.command({ cmd: "kill-checks", id: 1 });
    assert.deepEqual(await next(app, (e) => e.ev === "kill-checks"), {
      ev: "kill-checks",
      alive: true,
      unknown: "ERR_UNKNOWN_SIGNAL",
      killed: false,
    });
    app.command({ cmd: "kill", id: 1, signal: "SIGKILL" });
    const killed = await next(app, (e) => e.ev === "exit" && e.id === 1);
    assert.equal(killed.signal, "SIGKILL");
    assert.equal(killed.code, null);
    assert.equal(killed.after, false);
    assert.equal(killed.inWorkers, false, "removed before the exit event");
    // As in Node: the listeners user code adds to worker.process run after the cluster's.
    const processExit = await next(app, (e) => e.ev === "process-exit" && e.id === 1);
    assert.deepEqual({ code: processExit.code, signal: processExit.signal }, {
      code: null,
      signal: "SIGKILL",
    });
    assert.ok(app.events.indexOf(killed) < app.events.indexOf(processExit));
    app.command({ cmd: "send", id: 2, msg: { op: "exit", code: 3 } });
    const crashed = await next(app, (e) => e.ev === "exit" && e.id === 2);
    assert.equal(crashed.code, 3);
    assert.equal(crashed.after, false);
    const disconnect2 = app.events.find((e) => e.ev === "disconnect" && e.id === 2)!;
    assert.equal(disconnect2.inWorkers, true, "still in workers at disconnect, before exit");
    assert.ok(app.events.some((e) => e.ev === "worker-exit" && e.id === 2 && e.code === 3));
    app.command({ cmd: "workers" });
    assert.deepEqual((await next(app, (e) => e.ev === "workers")).ids, []);
  });
});

test("compat: a worker's own disconnect() and destroy() give exitedAfterDisconnect true", async () => {
  await withFixture(FIXTURE, {}, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    app.command({ cmd: "fork" });
    await app.waitFor((e) => e.ev === "listening", 2);
    app.command({ cmd: "send", id: 1, msg: { op: "disconnect" } });
    app.command({ cmd: "send", id: 2, msg: { op: "destroy" } });
    const exits = await app.waitFor((e) => e.ev === "exit", 2);
    for (const exit of exits) {
      assert.equal(exit.after, true, `worker ${exit.id}`);
      assert.equal(exit.code, 0, `worker ${exit.id}`);
    }
  });
});

test("compat: sends made at once after fork() arrive in order; a listen socket only where it can be shared", async () => {
  await withFixture("compat_early_send.ts", {}, async (app) => {
    const sent = await app.waitFor((e) => e.ev === "sent", 3);
    const errors = Object.fromEntries(sent.map((e) => [e.n, e.error]));
    const count = runtime === "deno" ? 2 : 3;
    const got = (await app.waitFor((e) => e.ev === "message", count)).map((e) => msg(e));
    if (runtime === "deno") {
      // Deno would move the server out of the primary: refused, with the adapter's reason.
      assert.deepEqual(errors, { 1: null, 2: "UNSUPPORTED", 3: null });
      assert.deepEqual(got, [{ got: 1, handle: false }, { got: 3, handle: false }]);
    } else {
      assert.deepEqual(errors, { 1: null, 2: null, 3: null });
      assert.deepEqual(got, [
        { got: 1, handle: false },
        { got: 2, handle: true },
        { got: 3, handle: false },
      ]);
    }
    const kept = await next(app, (e) => e.ev === "kept");
    assert.equal(kept.listening, true, "the primary still has its server");
  });
});

test("compat: a worker that sends and disconnects in its first turn exits cleanly", async () => {
  // The package's end of the channel connects a turn later and found it closed: its first write
  // then was an unhandled `error` on the worker's process (Deno), which exited with 1.
  await withFixture("compat_early_disconnect.ts", {}, async (app) => {
    const [message] = await app.waitFor((e) => e.ev === "message", 1);
    assert.equal(message.msg, message.cwd, "the worker's message arrived");
    const exit = await next(app, (e) => e.ev === "exit");
    assert.deepEqual([exit.code, exit.signal], [0, null], app.stderr.join("").slice(-2000));
  });
});

test("compat: cluster.disconnect(cb) calls back once every worker disconnected", async () => {
  await withFixture(FIXTURE, {}, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    app.command({ cmd: "fork" });
    await app.waitFor((e) => e.ev === "listening", 2);
    app.command({ cmd: "disconnect-all" });
    const done = await next(app, (e) => e.ev === "all-disconnected");
    assert.deepEqual(done.workers, []);
    assert.equal(app.events.filter((e) => e.ev === "disconnect").length, 2);
    app.child.stdin!.end(); // the fixture's command reader
    const exited = await Promise.race([
      app.exited(),
      new Promise((r) => setTimeout(r, 5000, "timeout")),
    ]);
    assert.deepEqual(
      exited,
      { code: 0, signal: null },
      "the primary exits by itself once all are gone",
    );
  });
});

test("compat: send() to an exited worker returns false; the callback gets ERR_IPC_CHANNEL_CLOSED", async () => {
  await withFixture(FIXTURE, {}, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    await next(app, (e) => e.ev === "listening");
    app.command({ cmd: "process-kill", id: 1, signal: "SIGTERM" });
    assert.equal((await next(app, (e) => e.ev === "process-kill")).value, true);
    assert.equal((await next(app, (e) => e.ev === "exit")).signal, "SIGTERM");
    app.command({ cmd: "send-closed", id: 1 });
    assert.equal((await next(app, (e) => e.ev === "send-returned")).value, false);
    assert.equal((await next(app, (e) => e.ev === "sent")).error, "ERR_IPC_CHANNEL_CLOSED");
  });
});

test("compat: workers listen(port) share the port, round-robin", async () => {
  const port = await freePort();
  await withFixture(FIXTURE, { PORT: String(port) }, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    app.command({ cmd: "fork" });
    const listening = await app.waitFor((e) => e.ev === "listening", 2);
    assert.deepEqual(listening.map((e) => (e.address as { port: number }).port), [port, port]);
    await app.waitFor((e) => e.ev === "message" && msg(e).listening === true, 2);
    const bodies = [];
    for (let i = 0; i < 6; i++) bodies.push(await get(port));
    assert.deepEqual(bodies.filter((b) => b === "worker 1").length, 3, bodies.join());
    assert.deepEqual(bodies.filter((b) => b === "worker 2").length, 3, bodies.join());
  });
});

test("compat: net.createServer().listen({ port, host }) shares the port", async () => {
  const port = await freePort();
  await withFixture(FIXTURE, { PORT: String(port), MODE: "net" }, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    app.command({ cmd: "fork" });
    await app.waitFor((e) => e.ev === "listening", 2);
    const said = new Set<string>();
    for (let i = 0; i < 4; i++) said.add(await tcpRead(port));
    assert.deepEqual([...said].sort(), ["worker 1", "worker 2"]);
  });
});

test("compat: listen(0) gives all workers one real port; several servers; exclusive binds alone", async () => {
  const shared = await freePort();
  await withFixture(FIXTURE, { MODE: "variants", PORT: String(shared) }, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    app.command({ cmd: "fork" });
    type A = { port: number; address: string; family: string };
    const as = (await app.waitFor((e) => e.ev === "message" && "a" in msg(e), 2)).map((e) =>
      msg(e)
    );
    const bs = (await app.waitFor((e) => e.ev === "message" && "b" in msg(e), 2)).map((e) =>
      msg(e)
    );
    const xs = (await app.waitFor((e) => e.ev === "message" && "x" in msg(e), 2)).map((e) =>
      msg(e)
    );
    const cs = (await app.waitFor((e) => e.ev === "message" && "c" in msg(e), 2)).map((e) =>
      msg(e)
    );
    const port = (m: Record<string, unknown>, k: string) => (m[k] as A).port;
    assert.equal(port(as[0], "a"), port(as[1], "a"), "listen(0) twice: one port");
    assert.notEqual(port(as[0], "a"), 0);
    assert.deepEqual([port(bs[0], "b"), port(bs[1], "b")], [shared, shared], "a second server");
    assert.notEqual(port(xs[0], "x"), port(xs[1], "x"), "exclusive: each worker binds its own");
    assert.equal(port(cs[0], "c"), port(cs[1], "c"), "each worker's 2nd listen(0): one port");
    assert.notEqual(port(cs[0], "c"), port(as[0], "a"), "…other than the 1st listen(0)'s");
    assert.match(await tcpRead(port(cs[0], "c")), /^c [12]$/);
    assert.deepEqual(as[0].a, { address: "127.0.0.1", family: "IPv4", port: port(as[0], "a") });
    assert.equal(as[0].listening, true);
    // Six shared listens were reported to the primary (exclusive ones are not shared).
    assert.equal(app.events.filter((e) => e.ev === "listening").length, 6);
    assert.match(await get(port(as[0], "a")), /^worker [12]$/);
    assert.match(await tcpRead(port(bs[0], "b")), /^b [12]$/);
  });
});

test("compat: EADDRINUSE is an 'error' event on the worker's server", async () => {
  const port = await freePort();
  const { occupyPort } = await import("./_helpers.ts");
  const blocker = await occupyPort();
  const taken = (blocker.address() as { port: number }).port;
  try {
    await withFixture(FIXTURE, { PORT: String(taken), MODE: "inuse" }, async (app) => {
      await next(app, (e) => e.ev === "ready");
      app.command({ cmd: "fork" });
      const error = await next(app, (e) => e.ev === "message" && "error" in msg(e));
      assert.deepEqual(error.msg, {
        error: "EADDRINUSE",
        syscall: "listen",
        listening: false,
        from: 1,
      });
    });
  } finally {
    blocker.close();
  }
  assert.ok(port > 0);
});

test("compat: server.close(cb) stops sharing; a server created late shares too", async () => {
  const port = await freePort();
  await withFixture(FIXTURE, { PORT: String(port), MODE: "close" }, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    const closed = await next(app, (e) => e.ev === "message" && msg(e).closed === true);
    assert.equal(msg(closed).address, null);
  });
  await withFixture(FIXTURE, { PORT: String(port), MODE: "late" }, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    await next(app, (e) => e.ev === "listening");
    assert.equal(await get(port), "worker 1");
  });
});

test("compat: worker.send(msg, socket) hands a working socket to the worker", async () => {
  await withFixture(FIXTURE, {}, async (app) => {
    await next(app, (e) => e.ev === "ready");
    app.command({ cmd: "fork" });
    await next(app, (e) => e.ev === "online");
    app.command({ cmd: "send-socket", id: 1 });
    const { port } = await next(app, (e) => e.ev === "handoff-port");
    assert.equal(await tcpRead(port as number), "socket handled by worker 1\n");
    await next(app, (e) => e.ev === "message" && msg(e).gotSocket === true);
  });
});

test("compat: SCHED_NONE shares the listen socket (refused on Deno)", async () => {
  const port = await freePort();
  await withFixture(FIXTURE, { PORT: String(port), SCHED: "none", MODE: "inuse" }, async (app) => {
    assert.equal((await next(app, (e) => e.ev === "ready")).policy, 1);
    app.command({ cmd: "fork" });
    app.command({ cmd: "fork" });
    if (runtime === "deno") {
      const error = await next(app, (e) => e.ev === "message" && "error" in msg(e));
      assert.equal(msg(error).error, "UNSUPPORTED");
      return;
    }
    await app.waitFor((e) => e.ev === "listening", 2);
    const said = new Set<string>();
    for (let i = 0; i < 20 && said.size < 1; i++) said.add(await get(port));
    assert.match([...said][0], /^worker [12]$/);
  });
});
