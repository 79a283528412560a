// /livez and /readyz on the primary's metrics listener, with real workers
// (tests/fixtures/obs_app.ts): 503 while starting, 200 once every slot is ready and all through
// a rolling reload (the old worker serves until its replacement is ready), 503 while a crashed
// slot waits for its new worker, and 503 from the moment shutdown begins while workers drain.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type App, get, withFixture } from "./_helpers.ts";

async function probe(port: number, path: "/livez" | "/readyz"): Promise<[number, string]> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(5000),
  });
  return [response.status, await response.text()];
}

async function metricsPort(app: App): Promise<number> {
  const [e] = await app.waitFor((e) => e.ev === "metrics");
  return e.port as number;
}

/** Probes `/readyz` every 20 ms while `during` runs; returns the statuses seen. */
async function readyzWhile(port: number, during: Promise<unknown>): Promise<number[]> {
  const seen: number[] = [];
  let done = false;
  during.finally(() => (done = true)).catch(() => {});
  while (!done) {
    seen.push((await probe(port, "/readyz"))[0]);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return seen;
}

test("/readyz is 503 while starting, 200 once ready and through a reload", async () => {
  await withFixture("obs_app.ts", { OBS_READY_DELAY: "800" }, async (app) => {
    const port = await metricsPort(app);
    const [status, body] = await probe(port, "/readyz");
    assert.equal(status, 503);
    assert.match(body, /^not ready: 0 of 2 slots have a ready worker/);
    assert.deepEqual(await probe(port, "/livez"), [200, "ok\n"]);
    await app.waitFor((e) => e.ev === "started");
    assert.deepEqual(await probe(port, "/readyz"), [200, "ready\n"]);
    app.command({ cmd: "reload" });
    await app.waitFor((e) => e.ev === "reloading");
    const seen = await readyzWhile(port, app.waitFor((e) => e.ev === "reloaded"));
    assert.ok(seen.length >= 10, `probed ${seen.length} times during the reload`);
    assert.deepEqual([...new Set(seen)], [200], "ready all through the reload");
  });
});

test("/readyz is 503 while a crashed slot has no ready worker", async () => {
  await withFixture("obs_app.ts", { OBS_WORKERS: "1", OBS_READY_DELAY: "800" }, async (app) => {
    const port = await metricsPort(app);
    const [{ port: serving }] = await app.waitFor((e) => e.ev === "started");
    await get(serving as number, "/crash");
    await app.waitFor((e) => e.ev === "exit");
    const [status, body] = await probe(port, "/readyz");
    assert.equal(status, 503);
    assert.match(body, /0 of 1 slots/);
    await app.waitFor((e) => e.ev === "listening" && e.id === 2);
    assert.equal((await probe(port, "/readyz"))[0], 200);
  });
});

test("/readyz turns 503 when shutdown begins; /livez answers while workers drain", async () => {
  await withFixture("obs_app.ts", {}, async (app) => {
    const port = await metricsPort(app);
    const [{ port: serving }] = await app.waitFor((e) => e.ev === "started");
    assert.equal((await probe(port, "/readyz"))[0], 200);
    // A request in flight keeps its worker draining for a while.
    const slow = get(serving as number, "/slow?ms=1000");
    await new Promise((resolve) => setTimeout(resolve, 100));
    app.command({ cmd: "shutdown" });
    await app.waitFor((e) => e.ev === "shutting-down");
    assert.deepEqual(await probe(port, "/readyz"), [503, "not ready: shutting down\n"]);
    assert.equal((await probe(port, "/livez"))[0], 200);
    assert.match(await slow, /^worker \d\n$/, "the in-flight request finished");
    await app.waitFor((e) => e.ev === "shutdown-done");
    await assert.rejects(probe(port, "/livez"), "the listener closed with the cluster");
  });
});
