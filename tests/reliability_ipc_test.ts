// Hostile and careless IPC through the public API (issue #13 items 3, 6, 7, 8): values no
// channel carries, garbage on a worker's IPC descriptor, a value too deep for the receiver, and
// broadcasts while round-robin hands over sockets (which wedged Deno's channel).
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { type App, get, runtime, withFixture } from "./_helpers.ts";

const FIXTURE = "reliability_app.ts";

/** Waits for `n` workers to serve; returns the port. */
async function serving(app: App, n: number): Promise<number> {
  await app.waitFor((e) => e.ev === "started", 1, 30_000);
  const bound = await app.waitFor((e) => e.ev === "message" && "bound" in (e.msg as object), n);
  return (bound[0].msg as { bound: number }).bound;
}

/** The workers' report for each spec they tried to send, in order. */
async function workerTries(app: App, id: number, specs: string[]) {
  for (const spec of specs) app.command({ cmd: "send", id, msg: { op: "try-send", spec } });
  const tried = (e: { ev: string; msg?: unknown }) =>
    e.ev === "message" && typeof e.msg === "object" && e.msg !== null && "tried" in e.msg;
  const found = await app.waitFor(tried, specs.length);
  return found.map((e) => e.msg as { tried: string; ok: boolean; name?: string });
}

async function primaryTries(app: App, id: number, specs: string[]) {
  const before = app.events.filter((e) => e.ev === "tried").length;
  for (const spec of specs) app.command({ cmd: "try-send", id, spec });
  const found = await app.waitFor((e) => e.ev === "tried", before + specs.length);
  return found.slice(before) as unknown as { spec: string; ok: boolean; name?: string }[];
}

const verdicts = (tries: { ok: boolean; name?: string }[]) =>
  tries.map((t) => (t.ok ? "sent" : t.name));

test("send() rejects what json cannot carry with a TypeError, in the primary and in a worker", async () => {
  await withFixture(FIXTURE, { REL_WORKERS: "1" }, async (app) => {
    const port = await serving(app, 1);
    const specs = ["undefined", "function", "symbol", "bigint", "cycle", "deep:100000"];
    const expected = specs.map(() => "TypeError");
    assert.deepEqual(verdicts(await primaryTries(app, 1, specs)), expected);
    assert.deepEqual(verdicts(await workerTries(app, 1, specs)), expected);
    // The channel still works both ways, nobody crashed, nothing was reported as forged.
    app.command({ cmd: "send", id: 1, msg: { op: "echo", value: "still here" } });
    await app.waitFor((e) => e.ev === "message" && (e.msg as { echo?: string }).echo === "still here");
    assert.equal(await get(port), "worker 1");
    assert.deepEqual(app.events.filter((e) => e.ev === "error" || e.ev === "exit"), []);
  });
});

test('send() with "advanced" rejects only what structured clone cannot copy, with a TypeError', async () => {
  await withFixture(FIXTURE, { REL_WORKERS: "1", REL_SERIALIZATION: "advanced" }, async (app) => {
    await serving(app, 1);
    const specs = ["undefined", "function", "symbol", "bigint", "cycle", "deep:100000"];
    const expected = ["TypeError", "TypeError", "TypeError", "sent", "sent", "TypeError"];
    assert.deepEqual(verdicts(await primaryTries(app, 1, specs)), expected);
    assert.deepEqual(verdicts(await workerTries(app, 1, specs)), expected);
    app.command({ cmd: "send", id: 1, msg: { op: "echo", value: "still here" } });
    await app.waitFor((e) => e.ev === "message" && (e.msg as { echo?: string }).echo === "still here");
    assert.deepEqual(app.events.filter((e) => e.ev === "error" || e.ev === "exit"), []);
  });
});

test("a value nested 200 levels deep arrives, or is refused at the sender where the receiver could not read it", async () => {
  await withFixture(FIXTURE, { REL_WORKERS: "1" }, async (app) => {
    await serving(app, 1);
    const [tried] = await workerTries(app, 1, ["deep:200"]);
    // Deno's JSON channel cannot parse more than 127 levels: refused there, carried elsewhere.
    if (runtime === "deno") assert.equal(tried.name, "TypeError");
    else {
      assert.equal(tried.ok, true);
      await app.waitFor((e) => e.ev === "message" && e.msg === "deep");
    }
    assert.deepEqual(app.events.filter((e) => e.ev === "error" || e.ev === "exit"), []);
  });
});

test("garbage on a worker's IPC descriptor: the primary survives, reports it for that worker and replaces it", async () => {
  await withFixture(FIXTURE, { REL_WORKERS: "2", REL_RESPAWN: "1" }, async (app) => {
    const port = await serving(app, 2);
    app.command({ cmd: "send", id: 1, msg: { op: "garbage" } });
    const [error] = await app.waitFor((e) => e.ev === "error");
    assert.equal(error.id, 1);
    assert.equal(error.code, "BAD_MESSAGE");
    await app.waitFor((e) => e.ev === "exit" && e.id === 1);
    await app.waitFor((e) => e.ev === "listening" && e.id === 3, 1, 30_000);
    const answers = new Set<string>();
    for (let i = 0; i < 8; i++) answers.add(await get(port));
    assert.deepEqual([...answers].sort(), ["worker 2", "worker 3"]);
  });
});

test("a worker that sends a too deep value past our API is taken out and replaced, never left running", async () => {
  await withFixture(FIXTURE, { REL_WORKERS: "2", REL_RESPAWN: "1" }, async (app) => {
    const port = await serving(app, 2);
    for (const depth of runtime === "deno" ? [129, 10_000] : [129]) {
      const listening = app.events.filter((e) => e.ev === "listening");
      const victim = listening.at(-1)!.id as number;
      app.command({ cmd: "send", id: victim, msg: { op: "raw", spec: `deep:${depth}` } });
      if (runtime === "deno") {
        // Deno's receiving channel fails on it: fatal for that worker, reported, replaced.
        const [error] = await app.waitFor((e) => e.ev === "error" && e.id === victim);
        assert.equal(error.code, "BAD_MESSAGE");
        await app.waitFor((e) => e.ev === "exit" && e.id === victim);
        const pid = app.events.find((e) => e.ev === "online" && e.id === victim)!.pid as number;
        assert.throws(() => process.kill(pid, 0), "the failed worker is gone");
        await app.waitFor((e) => e.ev === "listening", listening.length + 1, 30_000);
      } else {
        await app.waitFor((e) => e.ev === "message" && e.msg === "deep" && e.id === victim);
      }
    }
    for (let i = 0; i < 6; i++) assert.match(await get(port), /^worker \d+$/);
  });
});

// Issue #13 item 7: on Deno this proves the handle barrier of adapters/_ipc.ts. With it
// disabled (`#barrier` false) the test failed in 2 of 2 runs: 5 requests answered, then every
// one timed out (the channel wedged); with it, 2 of 2 passed.
test("broadcast() every 5 ms while round-robin hands over connections: every request and message gets through", async () => {
  await withFixture(FIXTURE, { REL_WORKERS: "2", REL_BUSY_MS: "3" }, async (app) => {
    const port = await serving(app, 2);
    app.command({ cmd: "broadcast-every", ms: 5, count: 300 });
    let ok = 0;
    const failures: string[] = [];
    const client = async () => {
      // A wedged channel fails every later request: stop at the first failure.
      for (let i = 0; i < 40 && failures.length === 0; i++) {
        try {
          assert.match(await get(port), /^worker [12]$/);
          ok++;
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, client));
    const [done] = await app.waitFor((e) => e.ev === "broadcasted", 1, 30_000);
    assert.deepEqual(failures.slice(0, 3), [], `${ok} ok`);
    assert.equal(done.failed, 0);
    // Each worker still answers a message sent after the storm (a wedged channel would not).
    for (const id of [1, 2]) {
      app.command({ cmd: "send", id, msg: { op: "echo", value: `after ${id}` } });
      await app.waitFor((e) => e.ev === "message" && (e.msg as { echo?: string }).echo === `after ${id}`);
    }
  });
});
