// Cluster.stats() with real workers (tests/fixtures/obs_app.ts): requests of serve() and of a
// node:http server given to listen(), round-robin handoffs, rss/CPU/event-loop lag from each
// runtime's adapter, restarts by reason, and reloads.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type App, fixture, get, withFixture } from "./_helpers.ts";
import type { ClusterStats } from "../mod.ts";

/** Asks the primary for stats() until `ok` holds (or fails after `timeout` ms). */
async function statsUntil(
  app: App,
  ok: (s: ClusterStats) => boolean,
  timeout = 10_000,
): Promise<ClusterStats> {
  const deadline = Date.now() + timeout;
  let last: ClusterStats | undefined;
  while (Date.now() < deadline) {
    const seen = app.events.filter((e) => e.ev === "stats").length;
    app.command({ cmd: "stats" });
    const [event] = (await app.waitFor((e) => e.ev === "stats", seen + 1)).slice(seen);
    last = event.stats as ClusterStats;
    if (ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`stats never matched; last: ${JSON.stringify(last)}`);
}

for (const mode of ["serve", "listen"]) {
  test(`stats() counts requests, handoffs and process figures per worker (${mode})`, async () => {
    await withFixture("obs_app.ts", { OBS_MODE: mode, OBS_METRICS: "0" }, async (app) => {
      const [{ port }] = await app.waitFor((e) => e.ev === "started");
      for (let i = 0; i < 20; i++) await get(port as number);
      const s = await statsUntil(app, (s) => s.totals.requests === 20);
      assert.equal(s.ready, true);
      assert.equal(s.workers.length, 2);
      const ids = s.workers.map((w) => w.id);
      assert.deepEqual(ids, [1, 2]);
      for (const w of s.workers) {
        assert.ok(w.requests! >= 5, `worker ${w.id} served ${w.requests} of 20`);
        assert.equal(typeof w.pid, "number");
        assert.equal(w.state, "listening");
        assert.ok(w.rss! > 1e6, `rss ${w.rss}`);
        assert.ok(w.cpuSeconds! > 0, `cpu ${w.cpuSeconds}`);
        assert.ok(w.eventLoopLag! >= 0 && w.eventLoopLag! < 1, `lag ${w.eventLoopLag}`);
        assert.ok(w.uptime > 0 && w.uptime < 60);
        assert.equal(w.restarts, 0);
        assert.equal(w.handoffs, w.requests, "one connection per request, all handed over");
        assert.equal(w.activeConnections !== null, true, "node:http servers count connections");
      }
      const [listener] = s.listeners;
      assert.equal(listener.policy, "round-robin");
      assert.equal(listener.workers, 2);
      assert.equal(listener.handoffs, 20);
      assert.equal(listener.handoffLatency.count, 20);
      assert.ok(listener.handoffLatency.sum > 0);
      assert.equal(listener.queued, 0);
      assert.ok(s.primary.rss! > 1e6);
      app.command({ cmd: "shutdown" });
      await app.waitFor((e) => e.ev === "shutdown-done");
    });
  });
}

test("stats() sees a blocked event loop, and a crash as a restart", async () => {
  // Reports 1 s apart: the lag of the block stays visible for a second, between two polls.
  const env = { OBS_WORKERS: "1", OBS_METRICS: "0", OBS_INTERVAL: "1000" };
  await withFixture("obs_app.ts", env, async (app) => {
    const [{ port }] = await app.waitFor((e) => e.ev === "started");
    await get(port as number, "/block?ms=300");
    const blocked = await statsUntil(app, (s) => (s.workers[0]?.eventLoopLag ?? 0) >= 0.2);
    assert.ok(blocked.workers[0].eventLoopLag! < 1);
    await get(port as number, "/crash");
    const s = await statsUntil(app, (s) => s.totals.restarts === 1 && s.ready);
    assert.equal(s.totals.restartsByReason.crash, 1);
    assert.equal(s.workers[0].id, 2);
    assert.equal(s.workers[0].restarts, 1);
    assert.equal(s.workers[0].restartsByReason.crash, 1);
    // The /block request was in a report before the crash; /crash's, after its last one, is lost.
    assert.ok(s.totals.requests >= 1, "the crashed worker's reported requests stay counted");
  });
});

test("stats() counts a reload and its replacements as restarts by reason reload", async () => {
  await withFixture("obs_app.ts", { OBS_WORKERS: "2", OBS_METRICS: "0" }, async (app) => {
    await app.waitFor((e) => e.ev === "started");
    app.command({ cmd: "reload" });
    await app.waitFor((e) => e.ev === "reloaded");
    const s = await statsUntil(app, (s) => s.workers.length === 2 && s.ready);
    assert.deepEqual(s.workers.map((w) => w.id), [3, 4]);
    assert.equal(s.totals.restartsByReason.reload, 2);
    assert.equal(s.totals.restarts, 2);
    assert.equal(s.reloads.total, 1);
    assert.equal(s.reloads.failed, 0);
    assert.equal(s.reloads.running, false);
    assert.ok(s.reloads.lastDuration! > 0);
  });
});

test("stats() counts reuse-port requests, where the kernel hands out connections", async () => {
  const env = { OBS_POLICY: "reuse-port", OBS_METRICS: "0" };
  await withFixture("obs_app.ts", env, async (app) => {
    const [{ port }] = await app.waitFor((e) => e.ev === "started");
    for (let i = 0; i < 20; i++) await get(port as number);
    const s = await statsUntil(app, (s) => s.totals.requests === 20);
    const [listener] = s.listeners;
    assert.equal(listener.policy, "reuse-port");
    assert.equal(listener.queued, null, "the primary queues nothing here");
    assert.equal(listener.handoffs, 0);
    for (const w of s.workers) assert.equal(w.handoffs, 0);
  });
});

test("stats() counts the requests of a node:cluster program's server (compat)", async () => {
  const env = { OBS_EXEC: fixture("obs_compat_worker.ts"), OBS_METRICS: "0" };
  await withFixture("obs_app.ts", env, async (app) => {
    const [{ port }] = await app.waitFor((e) => e.ev === "started");
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(await get(port as number));
    assert.deepEqual([...seen].sort(), ["compat worker 1\n", "compat worker 2\n"]);
    const s = await statsUntil(app, (s) => s.totals.requests === 10);
    assert.equal(s.workers.reduce((n, w) => n + (w.requests ?? 0), 0), 10);
  });
});
