import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { get, runtime, withApp } from "./_helpers.ts";

test("start() forks workers that go online and listen, in order", async () => {
  await withApp({ APP_WORKERS: "2" }, async (app) => {
    await app.waitFor((e) => e.ev === "started");
    const listening = await app.waitFor((e) => e.ev === "listening", 2);
    for (const id of [1, 2]) {
      const order = app.events.filter((e) => e.id === id).map((e) => e.ev);
      assert.deepEqual(order.slice(0, 3), ["fork", "online", "listening"], `worker ${id}`);
    }
    assert.equal(listening[0].port, listening[1].port, "port 0 gives all workers one port");
    assert.equal(listening[0].state, "listening");
    assert.match(await get(listening[0].port as number), /^worker [12]$/);
  });
});

test("messages go both ways and broadcast reaches every worker", async () => {
  await withApp({ APP_WORKERS: "2" }, async (app) => {
    await app.waitFor((e) => e.ev === "started");
    app.command({ cmd: "send", id: 1, msg: { hi: 1 } });
    const [echo] = await app.waitFor((e) => e.ev === "message" && "echo" in (e.msg as object));
    assert.deepEqual(echo, { ev: "message", id: 1, msg: { echo: { hi: 1 } } });
    app.command({ cmd: "broadcast", msg: { all: true } });
    const echoes = await app.waitFor(
      (e) => e.ev === "message" && JSON.stringify(e.msg) === '{"echo":{"all":true}}',
      2,
    );
    assert.deepEqual(echoes.map((e) => e.id).sort(), [1, 2]);
  });
});

test("disconnect() emits disconnect then exit with exitedAfterDisconnect", async () => {
  await withApp({ APP_WORKERS: "2" }, async (app) => {
    await app.waitFor((e) => e.ev === "started");
    app.command({ cmd: "disconnect", id: 1 });
    await app.waitFor((e) => e.ev === "disconnected" && e.id === 1);
    const events = app.events.filter((e) =>
      e.id === 1 && (e.ev === "disconnect" || e.ev === "exit")
    );
    assert.deepEqual(events.map((e) => e.ev), ["disconnect", "exit"]);
    assert.equal(events[0].after, true);
    assert.equal(events[1].after, true);
    assert.equal(events[1].code, 0);
    assert.equal(events[1].inMap, false, "a dead worker leaves cluster.workers before exit");
    assert.equal(events[1].dead, true);
  });
});

test("kill() reports the signal; a worker exiting by itself has exitedAfterDisconnect false", async () => {
  await withApp({ APP_WORKERS: "2" }, async (app) => {
    await app.waitFor((e) => e.ev === "started");
    app.command({ cmd: "kill", id: 1, signal: "SIGKILL" });
    const [killed] = await app.waitFor((e) => e.ev === "exit" && e.id === 1);
    assert.equal(killed.signal, "SIGKILL");
    assert.equal(killed.after, true);
    app.command({ cmd: "send", id: 2, msg: { op: "exit", code: 3 } });
    const [exited] = await app.waitFor((e) => e.ev === "exit" && e.id === 2);
    assert.equal(exited.code, 3);
    assert.equal(exited.after, false);
  });
});

test("shutdown() disconnects every worker and waits for their exits", async () => {
  await withApp({ APP_WORKERS: "2" }, async (app) => {
    await app.waitFor((e) => e.ev === "started");
    app.command({ cmd: "shutdown" });
    const [done] = await app.waitFor((e) => e.ev === "shutdown-done");
    assert.equal(done.workers, 0);
    assert.equal(app.events.filter((e) => e.ev === "exit").length, 2);
    assert.equal((await app.exited()).code, 0);
  });
});

test("a crashing worker gives exit with its code and an error that says why", async () => {
  await withApp({ APP_WORKERS: "1", APP_MODE: "crash", APP_SILENT: "1" }, async (app) => {
    const [exit] = await app.waitFor((e) => e.ev === "exit");
    assert.equal(exit.code, 1);
    // Whether the crash came before or after "online" is a race of the runtime's module loading
    // (Node's cluster sends online before the main module runs, too).
    const [error] = await app.waitFor((e) => e.ev === "error");
    assert.match(error.code as string, /^WORKER_(START_FAILED|EXITED)$/);
    assert.match(error.message as string, /Worker 1 exited with code 1 .*crash at start/);
    await app.waitFor((e) => e.ev === "started" || e.ev === "start-failed");
  });
});

test("a missing script gives exit and an error, never a hang", async () => {
  await withApp(
    { APP_WORKERS: "1", APP_EXEC: "/nonexistent/worker.ts", APP_SILENT: "1" },
    async (app) => {
      const [failed] = await app.waitFor((e) => e.ev === "start-failed");
      assert.equal(failed.code, "WORKER_START_FAILED");
      const [exit] = await app.waitFor((e) => e.ev === "exit");
      assert.notEqual(exit.code, 0);
    },
  );
});

test("start() rejects a policy the runtime cannot do, naming what would work", async () => {
  const policy = runtime === "deno" ? "shared" : "reuse-port";
  await withApp({ APP_WORKERS: "1", APP_POLICY: policy }, async (app) => {
    if (runtime !== "deno") {
      // Node and Bun on Linux can do every policy: start() succeeds.
      await app.waitFor((e) => e.ev === "started");
      return;
    }
    const [failed] = await app.waitFor((e) => e.ev === "start-failed");
    assert.equal(failed.code, "UNSUPPORTED");
    assert.match(failed.message as string, /"shared" is not available on deno.*"round-robin"/);
  });
});

if (runtime === "deno") {
  test("Deno workers get the primary's permissions, never broader", async () => {
    const flags = ["--allow-env", "--allow-read", "--allow-run", "--allow-net"];
    await withApp({ APP_WORKERS: "1" }, async (app) => {
      await app.waitFor((e) => e.ev === "started");
      app.command({ cmd: "send", id: 1, msg: { op: "perm" } });
      const [e] = await app.waitFor((e) => e.ev === "message" && "perm" in (e.msg as object));
      assert.deepEqual((e.msg as { perm: unknown }).perm, {
        write: "prompt",
        net: "granted",
        env: "granted",
      });
    }, flags);
  });
}

test("fork() returns a worker that can be sent to at once", async () => {
  await withApp({ APP_WORKERS: "1" }, async (app) => {
    await app.waitFor((e) => e.ev === "started");
    app.command({ cmd: "fork-send", msg: { early: true } });
    const [echo] = await app.waitFor((e) => e.ev === "message" && "echo" in (e.msg as object));
    assert.deepEqual(echo.msg, { echo: { early: true } });
    assert.equal(echo.id, 2);
  });
});

test('serialization "advanced" carries a Map of Uint8Array both ways', async () => {
  await withApp({ APP_WORKERS: "1", APP_SERIALIZATION: "advanced" }, async (app) => {
    await app.waitFor((e) => e.ev === "started");
    app.command({ cmd: "send", id: 1, msg: { op: "map" } });
    const [e] = await app.waitFor((e) => e.ev === "message" && "map" in (e.msg as object));
    assert.deepEqual(e.msg, { map: [["bytes", [1, 2, 3]]] });
  });
});

test("stdio: the workers' output follows the stdio option; uid/gid pass through", async () => {
  const print = async (env: Record<string, string>) =>
    await withApp({ APP_WORKERS: "1", ...env }, async (app) => {
      await app.waitFor((e) => e.ev === "started");
      app.command({ cmd: "send", id: 1, msg: { op: "print" } });
      await app.waitFor((e) => e.ev === "message" && "printed" in (e.msg as object));
      await new Promise((r) => setTimeout(r, 200));
      return app.stderr.join("").includes("worker 1 prints");
    });
  assert.equal(await print({}), true, "inherited by default");
  assert.equal(await print({ APP_STDIO: '["ignore","ignore","ignore","ipc"]' }), false);
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  if (uid !== undefined) {
    assert.equal(await print({ APP_UID: String(uid), APP_GID: String(process.getgid!()) }), true);
  }
});
