// A worker's `load` reports (src/_load_reporter.ts): batched changes per round-robin address, the
// count a handoff reply carries, and a timer that runs only while an address is watched.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LoadReporter } from "../src/_load_reporter.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `done()` (a loaded machine may delay the 5 ms ticks), 5 s at most. */
async function until(done: () => boolean): Promise<void> {
  for (const end = Date.now() + 5000; !done() && Date.now() < end;) await sleep(5);
}

function reporter(): { load: LoadReporter; open: Map<string, number>; sent: Array<[string, number]> } {
  const open = new Map<string, number>(), sent: Array<[string, number]> = [];
  const load = new LoadReporter({
    connections: (key) => open.get(key),
    send: (key, active) => sent.push([key, active]),
    unref: () => {},
    interval: 5,
  });
  return { load, open, sent };
}

test("LoadReporter sends changes only, per watched address, and the reply's count counts as sent", async () => {
  const { load, open, sent } = reporter();
  try {
    open.set("a", 0).set("b", 0).set("unwatched", 9);
    load.watch("a");
    load.watch("b");
    await sleep(30);
    assert.deepEqual(sent, [], "nothing changed");
    open.set("a", 3);
    await until(() => sent.length > 0);
    assert.deepEqual(sent, [["a", 3]]);
    open.set("b", 2);
    assert.equal(load.replied("b"), 2, "a newconn reply carries the count at once");
    assert.equal(load.replied("unwatched"), undefined);
    await sleep(30);
    assert.deepEqual(sent, [["a", 3]], "b's count already went with the reply");
  } finally {
    load.stop();
  }
});

test("LoadReporter's timer stops with the last watched address and on stop()", async () => {
  const { load, open, sent } = reporter();
  open.set("a", 0).set("b", 0);
  load.watch("a");
  load.watch("b");
  assert.equal(load.running, true);
  load.forget("a");
  assert.equal(load.running, true, "b is still watched");
  load.forget("b");
  assert.equal(load.running, false, "the last round-robin server closed");
  open.set("a", 5).set("b", 5);
  await sleep(30);
  assert.deepEqual(sent, []);
  load.watch("a");
  assert.equal(load.running, true);
  load.stop(); // the primary disconnected
  assert.equal(load.running, false);
  await sleep(30);
  assert.deepEqual(sent, []);
  assert.equal(load.replied("a"), undefined, "stop() forgets every address");
});

test("LoadReporter.received(): a receipt-settled handoff counts one more, so a short connection is reported", async () => {
  const { load, open, sent } = reporter();
  try {
    open.set("a", 0);
    load.watch("a");
    // The primary counted the handoff (its receipt) as one more; the connection closed before
    // the next tick, so the worker's count is 0 again: without received() nothing would be sent.
    load.received("a");
    await until(() => sent.length > 0);
    assert.deepEqual(sent, [["a", 0]], "the primary's 1 is corrected");
    load.received("a");
    open.set("a", 1); // still open: the primary's count is right
    await sleep(30);
    assert.deepEqual(sent, [["a", 0]]);
    load.received("unwatched"); // ignored
  } finally {
    load.stop();
  }
});
