// Unit tests for src/_spill_gate.ts with a fake clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SpillGate } from "../src/_spill_gate.ts";

test("SpillGate allows one handoff per worker until a backlog has waited spillAfter", () => {
  let now = 0;
  const gate = new SpillGate(4, 5, () => now, () => {});
  gate.begin();
  assert.equal(gate.room(0, undefined, now), 1);
  assert.equal(gate.room(1, 0, now), 0, "one outstanding is all while nothing waits");
  gate.end(2); // two connections wait from t=0
  now = 4;
  gate.begin();
  assert.equal(gate.room(1, 3, now), 0, "4 ms is not yet a backlog");
  gate.end(2);
  now = 5;
  gate.begin();
  assert.equal(gate.room(1, 3, now), 3, "a prompt worker takes up to maxInFlight");
  assert.equal(gate.room(1, 0, now), 0, "not one whose handoff has waited spillAfter itself");
  assert.equal(gate.room(0, undefined, now), 4);
  gate.end(0); // the backlog is gone
  gate.begin();
  assert.equal(gate.room(1, 4, now), 0, "back to one");
  gate.close();
});

test("SpillGate drains on its own once the wait is over, and not after close()", async () => {
  let drains = 0;
  const gate = new SpillGate(4, 2, () => performance.now(), () => void drains++);
  gate.begin();
  gate.end(1);
  gate.end(1); // one timer at most
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(drains, 1);
  gate.begin();
  assert.equal(gate.room(0, undefined, performance.now()), 4, "spilling now");
  gate.end(1); // still waiting while spilling: no timer
  const closed = new SpillGate(4, 2, () => performance.now(), () => void drains++);
  closed.begin();
  closed.end(1);
  closed.close();
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(drains, 1);
  gate.close();
});

test("SpillGate with spillAfter 0 or maxInFlight 1 never waits", () => {
  const now = () => 0;
  const atOnce = new SpillGate(4, 0, now, () => assert.fail("no timer"));
  atOnce.begin();
  assert.equal(atOnce.room(3, 0, 100), 1);
  atOnce.end(5);
  const single = new SpillGate(1, 2, now, () => assert.fail("no timer"));
  single.begin();
  assert.equal(single.room(0, undefined, 0), 1);
  assert.equal(single.room(1, 0, 0), 0);
  single.end(5);
  atOnce.close();
  single.close();
});
