// Unit tests for src/round_robin_handle.ts with fake targets and a fake listener (no processes).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type HandoffTarget,
  RoundRobinHandle,
  type RoundRobinOptions,
} from "../src/round_robin_handle.ts";
import { ClusterError } from "../src/errors.ts";
import { FakeListener } from "./_fake_listener.ts";
import { flush, settles } from "./_promises.ts";

const KEY = "round-robin||8080";
const MAX_ATTEMPTS = 3; // src/round_robin_handle.ts

type Answer = (connection: unknown) => Promise<boolean>;

const accept: Answer = () => Promise.resolve(true);
const refuse: Answer = () => Promise.resolve(false);
const stall: Answer = () => new Promise<boolean>(() => {});
const die: Answer = () =>
  Promise.reject(new ClusterError("CHANNEL_CLOSED", "Cannot send: worker died"));

/** A fake worker: records what it was handed, answers with `answer`. */
class FakeTarget implements HandoffTarget {
  readonly id: number;
  answer: Answer;
  got: unknown[] = [];
  keys: string[] = [];
  constructor(id: number, answer: Answer) {
    this.id = id;
    this.answer = answer;
  }
  handoff(key: string, connection: unknown): Promise<boolean> {
    this.got.push(connection);
    this.keys.push(key);
    return this.answer(connection);
  }
}

/** A fake worker whose handoffs stay pending until the test settles them. */
class ManualTarget implements HandoffTarget {
  got: unknown[] = [];
  #pending: Array<{ resolve(accepted: boolean): void; reject(error: Error): void }> = [];
  readonly id: number;
  constructor(id: number) {
    this.id = id;
  }
  handoff(_key: string, connection: unknown): Promise<boolean> {
    this.got.push(connection);
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }
  get outstanding(): number {
    return this.#pending.length;
  }
  /** Settles the oldest outstanding handoff. */
  answer(accepted: boolean): void {
    this.#pending.shift()!.resolve(accepted);
  }
  fail(): void {
    this.#pending.shift()!.reject(new ClusterError("CHANNEL_CLOSED", "Cannot send: worker died"));
  }
}

function connections(n: number, tag = "c"): Array<{ conn: string }> {
  return Array.from({ length: n }, (_, i) => ({ conn: `${tag}${i + 1}` }));
}

/** `spillAfter: 0`: up to maxInFlight at once (the spill has tests of its own). */
function handle(
  options: Partial<{ maxInFlight: number; maxQueue: number; spillAfter: number }> = {},
) {
  const rr = new RoundRobinHandle(KEY, {
    maxInFlight: 16,
    maxQueue: 64,
    spillAfter: 0,
    ...options,
  });
  const listener = new FakeListener();
  rr.listener = listener;
  return { rr, listener };
}

function assertReleasedOnce(listener: FakeListener, conns: unknown[]): void {
  for (const c of conns) {
    assert.equal(listener.releaseCount(c), 1, `${JSON.stringify(c)} released once`);
  }
  assert.equal(listener.released.length, conns.length, "no other releases");
}

/** A handle on a fake clock (`clock.now`, ms) with two workers that answer when told. */
function twoManual(options: Partial<RoundRobinOptions> = {}) {
  const clock = { now: 0 };
  const rr = new RoundRobinHandle(KEY, {
    maxInFlight: 4,
    maxQueue: 64,
    now: () => clock.now,
    ...options,
  });
  rr.listener = new FakeListener();
  const a = new ManualTarget(1), b = new ManualTarget(2);
  rr.add(a);
  rr.add(b);
  return { rr, a, b, clock };
}

// --- distribution ---------------------------------------------------------------------------

test("RoundRobinHandle alternates a burst evenly between two idle targets that accept at once", async () => {
  const { rr, listener } = handle();
  const a = new FakeTarget(1, accept), b = new FakeTarget(2, accept);
  rr.add(a);
  rr.add(b);
  const conns = connections(10);
  for (const c of conns) rr.distribute(c);
  await flush();
  assert.deepEqual(a.got, conns.filter((_, i) => i % 2 === 0));
  assert.deepEqual(b.got, conns.filter((_, i) => i % 2 === 1));
  assert.ok([...a.keys, ...b.keys].every((k) => k === KEY));
  assertReleasedOnce(listener, conns);
  assert.equal(rr.queued, 0);
});

test("RoundRobinHandle alternates connections that arrive one at a time", async () => {
  const { rr, listener } = handle();
  const a = new FakeTarget(1, accept), b = new FakeTarget(2, accept);
  rr.add(a);
  rr.add(b);
  const conns = connections(8);
  for (const c of conns) {
    rr.distribute(c);
    await flush();
  }
  assert.equal(a.got.length, 4);
  assert.equal(b.got.length, 4);
  assert.deepEqual(a.got, [conns[0], conns[2], conns[4], conns[6]]);
  assertReleasedOnce(listener, conns);
});

test("RoundRobinHandle spreads evenly over three targets", async () => {
  const { rr } = handle();
  const targets = [1, 2, 3].map((id) => new FakeTarget(id, accept));
  for (const t of targets) rr.add(t);
  for (const c of connections(30)) rr.distribute(c);
  await flush();
  assert.deepEqual(targets.map((t) => t.got.length), [10, 10, 10]);
});

test("RoundRobinHandle gives a stalled target at most maxInFlight, the rest to the other", async () => {
  const { rr, listener } = handle({ maxInFlight: 3 });
  const stalled = new FakeTarget(1, stall), healthy = new FakeTarget(2, accept);
  rr.add(stalled);
  rr.add(healthy);
  const conns = connections(40);
  for (let i = 0; i < conns.length; i++) {
    rr.distribute(conns[i]);
    if (i % 5 === 4) await flush();
  }
  await flush();
  assert.equal(stalled.got.length, 3);
  assert.equal(healthy.got.length, 37);
  assert.equal(rr.queued, 0);
  // Only the healthy target's connections were released; the stalled ones are still in flight.
  assertReleasedOnce(listener, healthy.got);
  for (const c of stalled.got) assert.equal(listener.releaseCount(c), 0);
});

test("RoundRobinHandle queues connections while every target is at maxInFlight", async () => {
  const { rr, listener } = handle({ maxInFlight: 2 });
  const a = new ManualTarget(1);
  rr.add(a);
  const conns = connections(5);
  for (const c of conns) rr.distribute(c);
  assert.equal(a.outstanding, 2);
  assert.equal(rr.queued, 3);
  a.answer(true);
  await flush();
  assert.deepEqual(a.got, conns.slice(0, 3));
  assert.equal(rr.queued, 2);
  assertReleasedOnce(listener, [conns[0]]);
  while (a.outstanding > 0) {
    assert.ok(a.outstanding <= 2, "never more than maxInFlight outstanding");
    a.answer(true);
    await flush();
  }
  assert.deepEqual(a.got, conns);
  assert.equal(rr.queued, 0);
  assertReleasedOnce(listener, conns);
});

test("RoundRobinHandle sends each connection to the target with the fewest handoffs in flight", () => {
  const { rr } = handle({ maxInFlight: 10 });
  const busy = new ManualTarget(1), idle = new ManualTarget(2);
  rr.add(busy);
  for (const c of connections(3, "early")) rr.distribute(c);
  rr.add(idle);
  const late = connections(3, "late");
  for (const c of late) rr.distribute(c);
  assert.deepEqual(idle.got, late);
  assert.equal(busy.got.length, 3);
});

// --- refusals and deaths --------------------------------------------------------------------

test("RoundRobinHandle re-dispatches a refused connection to another target", async () => {
  const { rr, listener } = handle();
  const refuser = new FakeTarget(1, refuse), taker = new FakeTarget(2, accept);
  rr.add(refuser);
  rr.add(taker);
  const [c] = connections(1);
  rr.distribute(c);
  await flush();
  assert.deepEqual(refuser.got, [c]);
  assert.deepEqual(taker.got, [c]);
  assertReleasedOnce(listener, [c]);
});

test("RoundRobinHandle re-dispatches a connection whose target died (rejected) to another target", async () => {
  const { rr, listener } = handle();
  const dead = new FakeTarget(1, die), taker = new FakeTarget(2, accept);
  rr.add(dead);
  rr.add(taker);
  const [c] = connections(1);
  rr.distribute(c);
  await flush();
  assert.deepEqual(taker.got, [c]);
  assertReleasedOnce(listener, [c]);
});

test("RoundRobinHandle loses no connection of a burst when one target refuses everything", async () => {
  // A target refuses when its server closed; it keeps refusing. Every connection of the burst
  // must still reach the target that accepts.
  const { rr, listener } = handle();
  const refuser = new FakeTarget(1, refuse), taker = new FakeTarget(2, accept);
  rr.add(refuser);
  rr.add(taker);
  const conns = connections(10);
  for (const c of conns) rr.distribute(c);
  await flush();
  assert.deepEqual(
    new Set(taker.got),
    new Set(conns),
    "every connection reached the accepting target",
  );
  assert.equal(taker.got.length, conns.length);
  assertReleasedOnce(listener, conns);
});

test("RoundRobinHandle loses no connection of a burst when one target died", async () => {
  const { rr, listener } = handle();
  const dead = new FakeTarget(1, die), taker = new FakeTarget(2, accept);
  rr.add(dead);
  rr.add(taker);
  const conns = connections(10);
  for (const c of conns) rr.distribute(c);
  await flush();
  assert.deepEqual(new Set(taker.got), new Set(conns), "every connection reached the live target");
  assertReleasedOnce(listener, conns);
});

test("RoundRobinHandle never hands a connection back to a worker that refused it", async () => {
  const { rr, listener } = handle();
  const refuser = new FakeTarget(1, refuse);
  rr.add(refuser);
  const [c] = connections(1);
  rr.distribute(c);
  await flush();
  await flush();
  assert.equal(refuser.got.length, 1, "the only worker refused: the connection is closed");
  assert.ok(refuser.got.every((x) => x === c));
  assertReleasedOnce(listener, [c]);
  assert.equal(rr.queued, 0);
});

test("RoundRobinHandle tries each worker once per connection, then closes it", async () => {
  const { rr, listener } = handle();
  const a = new FakeTarget(1, refuse), b = new FakeTarget(2, die);
  rr.add(a);
  rr.add(b);
  const conns = connections(2);
  for (const c of conns) rr.distribute(c);
  await flush();
  await flush();
  for (const c of conns) {
    assert.equal(a.got.filter((x) => x === c).length, 1, `${JSON.stringify(c)} went to a once`);
    assert.equal(b.got.filter((x) => x === c).length, 1, `${JSON.stringify(c)} went to b once`);
  }
  assertReleasedOnce(listener, conns);
});

test("RoundRobinHandle releases an accepted connection exactly once, only after the target took it", async () => {
  const { rr, listener } = handle();
  const a = new ManualTarget(1);
  rr.add(a);
  const [c] = connections(1);
  rr.distribute(c);
  await flush();
  assert.equal(listener.released.length, 0, "not released while the handoff is in flight");
  a.answer(true);
  await flush();
  assertReleasedOnce(listener, [c]);
  await flush();
  assertReleasedOnce(listener, [c]);
});

// --- queueing -------------------------------------------------------------------------------

test("RoundRobinHandle queues connections while it has no members and hands them out on add()", async () => {
  const { rr, listener } = handle();
  const conns = connections(3);
  for (const c of conns) rr.distribute(c);
  assert.equal(rr.queued, 3);
  assert.equal(listener.released.length, 0);
  const a = new FakeTarget(1, accept);
  rr.add(a);
  assert.deepEqual(a.got, conns, "handed out in arrival order");
  assert.equal(rr.queued, 0);
  await flush();
  assertReleasedOnce(listener, conns);
});

test("RoundRobinHandle bounds the queue by maxQueue and releases the excess once", async () => {
  const { rr, listener } = handle({ maxQueue: 3 });
  const conns = connections(5);
  for (const c of conns) rr.distribute(c);
  assert.equal(rr.queued, 3);
  assert.equal(listener.released.length, 2);
  const dropped = [...listener.released];
  const a = new FakeTarget(1, accept);
  rr.add(a);
  await flush();
  assert.equal(a.got.length, 3);
  for (const c of dropped) {
    assert.ok(!a.got.includes(c), "a released connection is never handed out");
  }
  assertReleasedOnce(listener, conns);
});

test("RoundRobinHandle holds a burst beyond maxQueue while the listener's capacity allows (issue #13)", () => {
  const { rr, listener } = handle({ maxQueue: 3 });
  Object.assign(listener, { capacity: 1000 });
  const conns = connections(1000);
  for (const c of conns) rr.distribute(c);
  assert.equal(rr.queued, 1000, "the backlog-sized maxQueue does not close connections");
  assert.equal(listener.released.length, 0);
  rr.distribute({ conn: "one too many" });
  assert.equal(rr.queued, 1000);
  assert.deepEqual(listener.released, [conns[0]], "beyond capacity the oldest is closed");
});

test("RoundRobinHandle with maxQueue 0 releases a connection no target can take", () => {
  const { rr, listener } = handle({ maxQueue: 0, maxInFlight: 1 });
  const a = new ManualTarget(1);
  rr.add(a);
  const conns = connections(3);
  for (const c of conns) rr.distribute(c);
  assert.deepEqual(a.got, [conns[0]]);
  assert.equal(rr.queued, 0);
  assertReleasedOnce(listener, conns.slice(1));
});

// --- membership -----------------------------------------------------------------------------

test("RoundRobinHandle.add() ignores a target already added; has()/size follow membership", () => {
  const { rr } = handle();
  const a = new FakeTarget(1, accept);
  rr.add(a);
  rr.add(a);
  rr.add(new FakeTarget(1, accept));
  assert.equal(rr.size, 1);
  assert.equal(rr.has(1), true);
  assert.equal(rr.has(2), false);
  rr.remove(1);
  assert.equal(rr.size, 0);
  assert.equal(rr.has(1), false);
  rr.remove(42);
  assert.equal(rr.size, 0);
});

test("RoundRobinHandle.remove() stops a member getting more connections", async () => {
  const { rr, listener } = handle();
  const a = new FakeTarget(1, accept), b = new FakeTarget(2, accept);
  rr.add(a);
  rr.add(b);
  rr.distribute({ conn: "before" });
  await flush();
  rr.remove(a.id);
  const conns = connections(6);
  for (const c of conns) rr.distribute(c);
  await flush();
  assert.deepEqual(a.got, [{ conn: "before" }]);
  assert.deepEqual(b.got, conns);
  assert.equal(listener.released.length, 7);
});

test("RoundRobinHandle re-dispatches a removed member's handoff that then fails", async () => {
  const { rr, listener } = handle();
  const leaving = new ManualTarget(1), staying = new FakeTarget(2, accept);
  rr.add(leaving);
  const [c] = connections(1);
  rr.distribute(c);
  rr.add(staying);
  rr.remove(leaving.id);
  leaving.fail();
  await flush();
  assert.deepEqual(staying.got, [c]);
  assertReleasedOnce(listener, [c]);
});

test("RoundRobinHandle queues connections after its last member left and serves the next one", async () => {
  const { rr, listener } = handle();
  const a = new FakeTarget(1, accept);
  rr.add(a);
  rr.remove(a.id);
  const conns = connections(2);
  for (const c of conns) rr.distribute(c);
  assert.equal(rr.queued, 2);
  assert.equal(a.got.length, 0);
  const b = new FakeTarget(2, accept);
  rr.add(b);
  await flush();
  assert.deepEqual(b.got, conns);
  assertReleasedOnce(listener, conns);
});

// --- close ----------------------------------------------------------------------------------

test("RoundRobinHandle.close() releases queued connections and closes the listener", async () => {
  const { rr, listener } = handle();
  const conns = connections(3);
  for (const c of conns) rr.distribute(c);
  await settles(rr.close());
  assert.equal(rr.queued, 0);
  assert.equal(listener.closes, 1);
  assertReleasedOnce(listener, conns);
});

test("RoundRobinHandle after close() releases new connections without handing them out", async () => {
  const { rr, listener } = handle();
  await settles(rr.close());
  const a = new FakeTarget(1, accept);
  rr.add(a);
  const [c] = connections(1);
  rr.distribute(c);
  await flush();
  assert.equal(a.got.length, 0);
  assertReleasedOnce(listener, [c]);
});

test("RoundRobinHandle after close() releases a refused in-flight connection instead of re-dispatching it", async () => {
  const { rr, listener } = handle();
  const a = new ManualTarget(1), b = new FakeTarget(2, accept);
  rr.add(a);
  const conns = connections(2);
  for (const c of conns) rr.distribute(c);
  rr.add(b);
  b.got.length = 0;
  await settles(rr.close());
  a.answer(false);
  a.fail();
  await flush();
  assert.equal(b.got.length, 0);
  assertReleasedOnce(listener, conns);
});

test("RoundRobinHandle without a listener drops connections without throwing", async () => {
  const rr = new RoundRobinHandle(KEY, { maxInFlight: 1, maxQueue: 0 });
  assert.equal(rr.listener, undefined);
  rr.distribute({ conn: 1 });
  rr.add(new FakeTarget(1, refuse));
  rr.distribute({ conn: 2 });
  await flush();
  await settles(rr.close());
  assert.equal(rr.queued, 0);
});

test("RoundRobinHandle gives up on a connection after MAX_ATTEMPTS workers refused it", async () => {
  const { rr, listener } = handle();
  const targets = [1, 2, 3, 4].map((id) => new FakeTarget(id, refuse));
  for (const t of targets) rr.add(t);
  const [c] = connections(1);
  rr.distribute(c);
  for (let i = 0; i < 6; i++) await flush();
  const tries = targets.reduce((n, t) => n + t.got.filter((x) => x === c).length, 0);
  assert.equal(tries, MAX_ATTEMPTS);
  assertReleasedOnce(listener, [c]);
});

test("RoundRobinHandle passes over a worker whose oldest handoff waits too long", async () => {
  let now = 0;
  const listener = new FakeListener();
  const rr = new RoundRobinHandle("k", {
    maxInFlight: 8,
    maxQueue: 100,
    stallAfter: 20,
    now: () => now,
  });
  rr.listener = listener;
  const stalled = new ManualTarget(1);
  const healthy = new FakeTarget(2, accept);
  rr.add(stalled);
  rr.add(healthy);
  const conns = connections(10);
  rr.distribute(conns[0]); // goes to worker 1 (the cursor starts there) and is never acked
  await flush();
  now = 25; // worker 1's handoff is now 25 ms old
  for (const c of conns.slice(1)) rr.distribute(c);
  await flush();
  assert.equal(stalled.got.length, 1, "no new connection for the stalled worker");
  assert.equal(healthy.got.length, 9);
});

test("RoundRobinHandle still uses a stalled worker when no other can take connections", async () => {
  const { rr, a, b, clock } = twoManual({ maxInFlight: 8, stallAfter: 20, spillAfter: 0 });
  rr.distribute({ c: 1 });
  rr.distribute({ c: 2 });
  await flush();
  clock.now = 100; // both stalled
  rr.distribute({ c: 3 });
  await flush();
  assert.equal(a.got.length + b.got.length, 3, "nothing is held back when all are stalled");
});

// --- spill: one handoff in flight per worker until connections wait ----------------------------

test("RoundRobinHandle gives a second handoff only after a wait of spillAfter, to a prompt worker", async () => {
  const { rr, a, b, clock } = twoManual({ spillAfter: 5 });
  const conns = connections(9);
  for (const c of conns.slice(0, 4)) rr.distribute(c);
  assert.deepEqual([a.got.length, b.got.length], [1, 1], "one each while answers keep up");
  assert.equal(rr.queued, 2);
  clock.now = 3;
  a.answer(true); // a answers: it takes the next, still one at a time
  await flush();
  assert.deepEqual([a.got.length, b.got.length], [2, 1]);
  clock.now = 5; // the backlog is 5 ms old: a (its handoff 2 ms old) gets more, b (5 ms) none
  rr.distribute(conns[4]);
  assert.deepEqual(a.got, [conns[0], conns[2], conns[3], conns[4]]);
  assert.deepEqual(b.got, [conns[1]]);
  assert.equal(rr.queued, 0);
  // The backlog is gone: back to one each.
  while (a.outstanding > 0) a.answer(true);
  while (b.outstanding > 0) b.answer(true);
  await flush();
  clock.now = 20;
  for (const c of conns.slice(5)) rr.distribute(c);
  assert.equal(a.outstanding + b.outstanding, 2);
  assert.equal(rr.queued, 2);
  await rr.close();
});

test("RoundRobinHandle spills on its own timer once the wait is over, with no answer or arrival", async () => {
  let now = 0;
  const rr = new RoundRobinHandle(KEY, {
    maxInFlight: 4,
    maxQueue: 64,
    spillAfter: 5,
    now: () => now,
  });
  const listener = new FakeListener();
  rr.listener = listener;
  const a = new ManualTarget(1);
  rr.add(a);
  const conns = connections(3);
  for (const c of conns) rr.distribute(c);
  now = 3;
  a.answer(true);
  await flush();
  assert.deepEqual(a.got, conns.slice(0, 2));
  now = 6; // then nothing happens: the timer armed at the first wait hands out the last one
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(a.got, conns);
  await rr.close();
  assert.equal(listener.released.length, 1, "only the answered one was released");
});

test("RoundRobinHandle keeps one in flight per worker when maxInFlight is 1, however long they wait", async () => {
  let now = 0;
  const rr = new RoundRobinHandle(KEY, { maxInFlight: 1, maxQueue: 64, now: () => now });
  rr.listener = new FakeListener();
  const a = new ManualTarget(1);
  rr.add(a);
  for (const c of connections(3)) rr.distribute(c);
  now = 1000;
  rr.distribute({ conn: "late" });
  assert.equal(a.got.length, 1);
  assert.equal(rr.queued, 3);
  await rr.close();
});

test("RoundRobinHandle keeps connections in its queue rather than stack them on stalled workers", async () => {
  const { rr, a, b, clock } = twoManual();
  rr.distribute({ conn: "c1" });
  rr.distribute({ conn: "c2" });
  clock.now = 100; // both stalled, each holding one
  for (const c of connections(4, "late")) rr.distribute(c);
  clock.now = 200;
  rr.distribute({ conn: "later" });
  assert.deepEqual([a.got.length, b.got.length], [1, 1], "the first to answer gets them");
  assert.equal(rr.queued, 5);
  clock.now = 201;
  a.answer(true);
  await flush();
  // The backlog has waited: the worker that answered takes up to maxInFlight at once.
  assert.deepEqual([a.got.length, b.got.length], [5, 1]);
  assert.equal(rr.queued, 1);
  await rr.close();
});
