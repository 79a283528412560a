import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULTS } from "../src/options.ts";
import { RestartTracker } from "../src/_restarts.ts";

const fail = (at: number) => ({ at, code: 1, signal: null });
const tracker = (options: Partial<typeof DEFAULTS.respawn>) =>
  new RestartTracker({ ...DEFAULTS.respawn, ...options });

test("RestartTracker backs off exponentially up to the cap", () => {
  const t = tracker({ base: 100, factor: 2, cap: 500, maxRestarts: 100 });
  const delays = [0, 1, 2, 3, 4].map((i) => t.record(fail(i * 10), 5));
  assert.deepEqual(delays, [100, 200, 400, 500, 500]);
});

test("RestartTracker resets the backoff after a stable uptime", () => {
  const t = tracker({ base: 100, stableUptime: 1000, maxRestarts: 100 });
  assert.equal(t.record(fail(0), 5), 100);
  assert.equal(t.record(fail(10), 5), 200);
  assert.equal(t.record(fail(5000), 2000), 100, "a worker that lived 2 s resets it");
  assert.equal(t.failures.length, 1);
});

test("RestartTracker stops after maxRestarts failures inside the window", () => {
  const t = tracker({ maxRestarts: 3, window: 1000 });
  assert.notEqual(t.record(fail(0), 5), undefined);
  assert.notEqual(t.record(fail(100), 5), undefined);
  assert.equal(t.record(fail(200), 5), undefined, "third failure within 1 s: crash loop");
  assert.deepEqual(t.failures.map((f) => f.at), [0, 100, 200]);
});

test("RestartTracker forgets failures older than the window", () => {
  const t = tracker({ maxRestarts: 3, window: 1000 });
  t.record(fail(0), 5);
  t.record(fail(100), 5);
  assert.notEqual(t.record(fail(5000), 5), undefined, "the old failures fell out of the window");
  assert.deepEqual(t.failures.map((f) => f.at), [5000]);
});
