import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { type App, get, runtime, withApp } from "./_helpers.ts";
import { describeCounts, startLoad } from "./_load.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function started(app: App, n: number): Promise<number> {
  await app.waitFor((e) => e.ev === "started");
  const listening = await app.waitFor((e) => e.ev === "listening", n);
  return listening[0].port as number;
}

test("respawn: a SIGKILLed worker is replaced in its slot and ready again quickly", async () => {
  await withApp({ APP_WORKERS: "2", APP_RESPAWN: "1" }, async (app) => {
    const port = await started(app, 2);
    const load = startLoad(port);
    await sleep(300);
    const victim = app.events.find((e) => e.ev === "online" && e.id === 1)!;
    const killedAt = performance.now();
    process.kill(victim.pid as number, "SIGKILL");
    const [fork] = await app.waitFor((e) => e.ev === "fork" && e.slot === 0 && e.id !== 1);
    const [ready] = await app.waitFor((e) => e.ev === "ready" && e.id === fork.id);
    const readyAfter = performance.now() - killedAt;
    await sleep(300);
    const counts = await load.stop();
    const seen = describeCounts(counts);
    assert.equal(ready.slot, 0);
    assert.ok(readyAfter < 1000 + 50 + 500, `slot 0 ready again after ${readyAfter} ms; ${seen}`);
    const [exit] = app.events.filter((e) => e.ev === "exit" && e.id === 1);
    assert.equal(exit.signal, "SIGKILL");
    assert.ok(counts.failed <= 4, `only the killed worker's connections may fail: ${seen}`);
    assert.ok(counts.bodies.has(`worker ${fork.id}`), `the replacement serves: ${seen}`);
  });
});

test("crash loop: a worker that throws at start stops being restarted, without spinning", async () => {
  const env = { APP_WORKERS: "1", APP_RESPAWN: "1", APP_MODE: "crash", APP_MAX_RESTARTS: "3" };
  await withApp({ ...env, APP_SILENT: "1" }, async (app) => {
    const [loop] = await app.waitFor((e) => e.ev === "crashloop");
    assert.equal(loop.slot, 0);
    assert.match(loop.message as string, /Slot 0 stopped restarting.*3 times.*\(1, 1, 1\)/s);
    assert.match(loop.message as string, /crash at start/);
    const [failed] = await app.waitFor((e) => e.ev === "start-failed");
    assert.equal(failed.code, "CRASH_LOOP");
    await sleep(500);
    assert.equal(app.events.filter((e) => e.ev === "fork").length, 3, "no fork after the guard");
  });
});

test("readiness manual: start() waits for Cluster.worker.ready(); readyTimeout kills the late", async () => {
  await withApp({ APP_WORKERS: "1", APP_READINESS: "manual" }, async (app) => {
    await app.waitFor((e) => e.ev === "listening");
    await sleep(300);
    assert.equal(app.events.some((e) => e.ev === "started"), false, "not ready before ready()");
    app.command({ cmd: "send", id: 1, msg: { op: "ready" } });
    await app.waitFor((e) => e.ev === "started");
    await app.waitFor((e) => e.ev === "ready" && e.id === 1);
  });
  await withApp(
    { APP_WORKERS: "1", APP_READINESS: "manual", APP_READY_TIMEOUT: "500" },
    async (app) => {
      const [failed] = await app.waitFor((e) => e.ev === "start-failed");
      assert.equal(failed.code, "WORKER_START_FAILED");
      const [exit] = await app.waitFor((e) => e.ev === "exit");
      assert.equal(exit.signal, "SIGKILL");
    },
  );
});

const policies = runtime === "deno"
  ? ["round-robin", "reuse-port"]
  : ["round-robin", "shared", "reuse-port"];
for (const policy of policies) {
  // reuse-port with strictReloads: the runtime's native server (the fast default) may reset
  // queued connections at tcp_migrate_req=0, measured in tests/reload_modes_test.ts.
  const strict = policy === "reuse-port";
  const name = `${policy}${strict ? ", strictReloads" : ""}`;
  test(`reload() under load replaces every worker with 0 failed requests (${name})`, async () => {
    const env = { APP_WORKERS: "2", APP_POLICY: policy, APP_STRICT_RELOADS: strict ? "1" : "0" };
    await withApp(env, async (app) => {
      const port = await started(app, 2);
      const load = startLoad(port);
      await sleep(300);
      app.command({ cmd: "reload" });
      await app.waitFor((e) => e.ev === "reloaded" || e.ev === "reload-failed", 1, 30_000);
      await sleep(300);
      const counts = await load.stop();
      const seen = describeCounts(counts);
      assert.ok(app.events.some((e) => e.ev === "reloaded"), seen);
      assert.equal(counts.failed, 0, seen);
      const exits = app.events.filter((e) => e.ev === "exit");
      assert.deepEqual(exits.map((e) => e.id).sort(), [1, 2], seen);
      assert.ok(exits.every((e) => e.after === true && e.code === 0), JSON.stringify(exits));
      for (const id of [3, 4]) {
        assert.match(await get(port), /^worker [34]$/, `after reload (${id})`);
      }
    });
  });
}

test("reload() stops at a replacement that never gets ready; the old worker keeps serving", async () => {
  const env = { APP_WORKERS: "2", APP_HANG_AFTER_ID: "2", APP_READY_TIMEOUT: "3000" };
  await withApp(env, async (app) => {
    const port = await started(app, 2);
    app.command({ cmd: "reload" });
    const [failed] = await app.waitFor((e) => e.ev === "reload-failed", 1, 10_000);
    assert.equal(failed.code, "RELOAD_FAILED");
    assert.match(failed.message as string, /slot 0.*worker 1 keeps serving/);
    const bodies = new Set<string>();
    for (let i = 0; i < 10; i++) bodies.add(await get(port));
    assert.deepEqual([...bodies].sort(), ["worker 1", "worker 2"]);
    assert.equal(app.events.filter((e) => e.ev === "exit" && (e.id === 1 || e.id === 2)).length, 0);
  });
});

test("a second reload() while one runs joins it instead of doubling it", async () => {
  await withApp({ APP_WORKERS: "2" }, async (app) => {
    await started(app, 2);
    app.command({ cmd: "reload" });
    app.command({ cmd: "reload" });
    await app.waitFor((e) => e.ev === "reloaded", 2, 30_000);
    await sleep(200);
    const forks = app.events.filter((e) => e.ev === "fork");
    assert.equal(forks.length, 4, `2 first workers + 2 replacements: ${JSON.stringify(forks)}`);
  });
});

test("shutdown() under load answers every in-flight request", async () => {
  await withApp({ APP_WORKERS: "2" }, async (app) => {
    const port = await started(app, 2);
    const slow = startLoad(port, { keepAlive: 2, fresh: 2, path: "/slow" });
    await sleep(400);
    app.command({ cmd: "shutdown" });
    await app.waitFor((e) => e.ev === "shutdown-done", 1, 20_000);
    const counts = await slow.stop();
    const seen = describeCounts(counts);
    assert.ok(counts.answered > 0, seen);
    // Requests sent after the listener closed are refused (ECONNREFUSED), never cut mid-way.
    const cut = counts.errors.filter((e) => e !== "ECONNREFUSED");
    assert.deepEqual(cut, [], seen);
  });
});

test("SIGTERM twice to the primary is one graceful shutdown", async () => {
  await withApp({ APP_WORKERS: "2" }, async (app) => {
    await started(app, 2);
    process.kill(app.child.pid!, "SIGTERM");
    try {
      process.kill(app.child.pid!, "SIGTERM");
    } catch {
      // Already gone: the first shutdown was that quick.
    }
    const { code } = await app.exited();
    assert.equal(code, 0);
    const exits = app.events.filter((e) => e.ev === "exit");
    assert.equal(exits.length, 2, JSON.stringify(app.events));
    assert.ok(exits.every((e) => e.after === true && e.code === 0), JSON.stringify(exits));
  });
});

test("watchdog: a worker stuck in a busy loop is killed and replaced", async () => {
  const env = { APP_WORKERS: "2", APP_RESPAWN: "1", APP_HEARTBEAT_TIMEOUT: "500" };
  await withApp(env, async (app) => {
    const port = await started(app, 2);
    app.command({ cmd: "send", id: 1, msg: { op: "block", ms: 60_000 } });
    const [unresponsive] = await app.waitFor((e) => e.ev === "unresponsive", 1, 10_000);
    assert.equal(unresponsive.id, 1);
    const [exit] = await app.waitFor((e) => e.ev === "exit" && e.id === 1, 1, 10_000);
    assert.equal(exit.signal, "SIGKILL", "SIGTERM cannot run in a blocked loop; SIGKILL follows");
    const [ready] = await app.waitFor((e) => e.ev === "ready" && e.slot === 0 && e.id !== 1);
    assert.ok((ready.id as number) > 2);
    const bodies = new Set<string>();
    for (let i = 0; i < 10; i++) bodies.add(await get(port));
    assert.ok(bodies.has(`worker ${ready.id}`), [...bodies].join());
  });
});

test("recycling by request count replaces workers without counting a crash", async () => {
  await withApp({ APP_WORKERS: "2", APP_MAX_REQUESTS: "30" }, async (app) => {
    const port = await started(app, 2);
    const load = startLoad(port, { keepAlive: 1, fresh: 1 });
    await app.waitFor((e) => e.ev === "recycle", 2, 15_000);
    await sleep(500);
    const counts = await load.stop();
    const seen = describeCounts(counts);
    assert.equal(counts.failed, 0, seen);
    const recycled = app.events.filter((e) => e.ev === "recycle");
    assert.ok(recycled.every((e) => e.reason === "requests"), JSON.stringify(recycled));
    assert.equal(app.events.some((e) => e.ev === "crashloop" || e.ev === "error"), false);
  });
});

test("scale(n) adds ready workers and removes the newest gracefully", async () => {
  await withApp({ APP_WORKERS: "1" }, async (app) => {
    await started(app, 1);
    app.command({ cmd: "scale", n: 3 });
    const [up] = await app.waitFor((e) => e.ev === "scaled" && e.n === 3);
    assert.deepEqual(up.ids, [1, 2, 3]);
    app.command({ cmd: "scale", n: 1 });
    const [down] = await app.waitFor((e) => e.ev === "scaled" && e.n === 1);
    assert.deepEqual(down.ids, [1]);
    const exits = app.events.filter((e) => e.ev === "exit");
    assert.deepEqual(exits.map((e) => e.id).sort(), [2, 3]);
    assert.ok(exits.every((e) => e.after === true), JSON.stringify(exits));
  });
});

test("recycling by memory replaces a worker over maxMemory", async () => {
  // 1 byte: every worker is over it, so the first heartbeat recycles it.
  await withApp({ APP_WORKERS: "1", APP_MAX_MEMORY: "1" }, async (app) => {
    await started(app, 1);
    const [recycle] = await app.waitFor((e) => e.ev === "recycle", 1, 10_000);
    assert.equal(recycle.reason, "memory");
    const [exit] = await app.waitFor((e) => e.ev === "exit" && e.id === recycle.id, 1, 10_000);
    assert.equal(exit.after, true, "a recycle is asked for, not a crash");
  });
});

test("SIGTTIN adds a worker and SIGTTOU removes one", async () => {
  await withApp({ APP_WORKERS: "1" }, async (app) => {
    await started(app, 1);
    process.kill(app.child.pid!, "SIGTTIN");
    const [ready] = await app.waitFor((e) => e.ev === "ready" && e.id === 2);
    assert.equal(ready.slot, 1);
    process.kill(app.child.pid!, "SIGTTOU");
    const [exit] = await app.waitFor((e) => e.ev === "exit");
    assert.equal(exit.id, 2, "the newest slot goes first");
    assert.equal(exit.after, true);
  });
});

test("a stopping worker sees its shutdown signal and finishes waitUntil() work first", async () => {
  await withApp({ APP_WORKERS: "1", APP_CLEANUP_MS: "300" }, async (app) => {
    await started(app, 1);
    app.command({ cmd: "disconnect", id: 1 });
    const [cleaned] = await app.waitFor((e) =>
      e.ev === "message" && "cleaned" in (e.msg as object)
    );
    assert.deepEqual(cleaned.msg, { cleaned: true }, "signal.aborted was true during cleanup");
    const cleanedAt = app.events.indexOf(cleaned);
    const [exit] = await app.waitFor((e) => e.ev === "exit" && e.id === 1);
    assert.ok(app.events.indexOf(exit) > cleanedAt, "the worker exited after its cleanup");
  });
});

test("a third SIGINT stops waiting for slow workers", async () => {
  // Workers clean up for 20 s: only the forced path can end this quickly.
  await withApp(
    { APP_WORKERS: "1", APP_CLEANUP_MS: "20000", APP_SHUTDOWN_TIMEOUT: "30000" },
    async (app) => {
      await started(app, 1);
      for (let i = 0; i < 3; i++) {
        process.kill(app.child.pid!, "SIGINT");
        await sleep(100);
      }
      const { code } = await Promise.race([
        app.exited(),
        sleep(5000).then(() => ({ code: "still running" })),
      ]);
      assert.equal(code, 130);
    },
  );
});
