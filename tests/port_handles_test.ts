// Unit tests for src/shared_handle.ts and src/reuse_port_handle.ts with fake sources, listeners
// and workers (no processes, no sockets).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SharedHandle, type SharedHandleSource, type ShareTarget } from "../src/shared_handle.ts";
import { ReusePortHandle } from "../src/reuse_port_handle.ts";
import type { Address, Listener } from "../src/types.ts";
import { deferred, flush, settles, track } from "./_promises.ts";

const KEY = "shared||8080";

// --- SharedHandle fakes ---------------------------------------------------------------------

class FakeListener implements Listener {
  readonly address: Address = { hostname: "0.0.0.0", port: 8080, family: "IPv4" };
  readonly handle: { listen: string };
  readonly onConnection: (connection: unknown) => void;
  released: unknown[] = [];
  closes = 0;
  constructor(name: string, onConnection: (connection: unknown) => void) {
    this.handle = { listen: name };
    this.onConnection = onConnection;
  }
  close(): Promise<void> {
    this.closes++;
    return Promise.resolve();
  }
  release(connection: unknown): void {
    this.released.push(connection);
  }
}

class FakeSource implements SharedHandleSource {
  listeners: FakeListener[] = [];
  binds = 0;
  adopted: unknown[] = [];
  /** Makes the next bind fail with this error. */
  failNextBind: Error | undefined;
  bind(onConnection: (connection: unknown) => void): Promise<Listener> {
    this.binds++;
    if (this.failNextBind) {
      const error = this.failNextBind;
      this.failNextBind = undefined;
      return Promise.reject(error);
    }
    const listener = new FakeListener(`bound#${this.binds}`, onConnection);
    this.listeners.push(listener);
    return Promise.resolve(listener);
  }
  adopt(handle: unknown): Listener {
    this.adopted.push(handle);
    // The adapter relays what it accepts on an adopted socket itself (adapters/_node_api.ts).
    const listener = new FakeListener(`adopted#${this.adopted.length}`, () => {});
    this.listeners.push(listener);
    return listener;
  }
  get last(): FakeListener {
    return this.listeners[this.listeners.length - 1];
  }
}

/** A fake worker: lends `lendAnswer()` and accepts every connection. */
class FakeHolder implements ShareTarget {
  readonly id: number;
  lendAnswer: () => Promise<unknown>;
  lendCalls: string[] = [];
  got: unknown[] = [];
  constructor(id: number, lendAnswer: () => Promise<unknown> = () => Promise.resolve(undefined)) {
    this.id = id;
    this.lendAnswer = lendAnswer;
  }
  lend(key: string): Promise<unknown> {
    this.lendCalls.push(key);
    return this.lendAnswer();
  }
  handoff(_key: string, connection: unknown): Promise<boolean> {
    this.got.push(connection);
    return Promise.resolve(true);
  }
}

/** A `give` that records the handles it was given and resolves at once. */
function recordingGive() {
  const given: unknown[] = [];
  return { given, give: (handle: unknown) => (given.push(handle), Promise.resolve()) };
}

// --- SharedHandle ---------------------------------------------------------------------------

test("SharedHandle.acquire() binds first and closes the primary's copy only after give resolved", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const a = new FakeHolder(1);
  const sending = deferred();
  const given: unknown[] = [];
  const acquired = track(shared.acquire(a, (handle) => (given.push(handle), sending.promise)));
  await flush();
  assert.equal(source.binds, 1);
  assert.equal(source.adopted.length, 0);
  assert.deepEqual(given, [source.last.handle]);
  assert.equal(source.last.closes, 0, "the primary's copy stays open while give is pending");
  assert.equal(shared.has(1), false);
  assert.equal(acquired.settled, false);
  sending.resolve();
  await flush();
  assert.equal(acquired.settled, true);
  assert.equal(acquired.error, undefined);
  assert.equal(source.last.closes, 1, "the primary's copy is closed once given");
  assert.equal(shared.has(1), true);
  assert.equal(shared.size, 1);
});

test("SharedHandle.acquire() adopts the socket a holder lends and never binds again", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const lent = { listen: "lent by worker 1" };
  const a = new FakeHolder(1, () => Promise.resolve(lent));
  const { given, give } = recordingGive();
  await settles(shared.acquire(a, give));
  await settles(shared.acquire(new FakeHolder(2), give));
  await settles(shared.acquire(new FakeHolder(3), give));
  assert.equal(source.binds, 1, "bound once, for the first worker only");
  assert.deepEqual(a.lendCalls, [KEY, KEY]);
  assert.deepEqual(source.adopted, [lent, lent]);
  assert.deepEqual(given, source.listeners.map((l) => l.handle));
  assert.ok(source.listeners.every((l) => l.closes >= 1), "every primary copy was closed");
  assert.equal(shared.size, 3);
  assert.ok(shared.has(2) && shared.has(3));
});

test("SharedHandle.acquire() asks the next holder when one has nothing to lend", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const { give } = recordingGive();
  const empty = new FakeHolder(1, () => Promise.resolve(undefined));
  const lent = { listen: "from 2" };
  const lender = new FakeHolder(2, () => Promise.resolve(lent));
  await settles(shared.acquire(empty, give));
  await settles(shared.acquire(lender, give)); // binds: worker 1 has nothing to lend
  assert.equal(source.binds, 2);
  await settles(shared.acquire(new FakeHolder(3), give));
  assert.equal(source.binds, 2, "worker 2 lent, no new bind");
  assert.deepEqual(source.adopted, [lent]);
  assert.equal(empty.lendCalls.length, 2);
  assert.equal(lender.lendCalls.length, 1);
});

test("SharedHandle.acquire() stops at the first holder that lends", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const { given, give } = recordingGive();
  const one = new FakeHolder(1, () => Promise.resolve({ listen: "from 1" }));
  const two = new FakeHolder(2, () => Promise.resolve({ listen: "from 2" }));
  await settles(shared.acquire(one, give));
  await settles(shared.acquire(two, give)); // adopts worker 1's socket
  one.lendCalls.length = 0;
  source.adopted.length = 0;
  await settles(shared.acquire(new FakeHolder(3), give));
  assert.equal(one.lendCalls.length + two.lendCalls.length, 1, "only one holder was asked");
  assert.equal(source.adopted.length, 1, "only one lent socket adopted");
  assert.equal(given.length, 3);
  assert.equal(given[2], source.last.handle);
  assert.equal(source.binds, 1);
});

test("SharedHandle.acquire() binds fresh when the holder cannot lend (undefined)", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const { given, give } = recordingGive();
  const a = new FakeHolder(1, () => Promise.resolve(undefined));
  await settles(shared.acquire(a, give));
  await settles(shared.acquire(new FakeHolder(2), give));
  assert.equal(a.lendCalls.length, 1);
  assert.equal(source.binds, 2);
  assert.equal(source.adopted.length, 0);
  assert.equal(given[1], source.listeners[1].handle);
  assert.equal(shared.size, 2);
});

test("SharedHandle.acquire() binds fresh when the holder's lend rejects (it died)", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const { give } = recordingGive();
  const a = new FakeHolder(1, () => Promise.reject(new Error("channel closed")));
  await settles(shared.acquire(a, give));
  await settles(shared.acquire(new FakeHolder(2), give));
  assert.equal(a.lendCalls.length, 1);
  assert.equal(source.binds, 2);
  assert.equal(shared.has(2), true);
});

test("SharedHandle.acquire() rejects with the bind error and records no holder", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const inUse = Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" });
  source.failNextBind = inUse;
  let gave = false;
  await assert.rejects(
    settles(shared.acquire(new FakeHolder(1), () => ((gave = true), Promise.resolve()))),
    (error) => error === inUse,
  );
  assert.equal(gave, false);
  assert.equal(shared.size, 0);
  assert.equal(shared.has(1), false);
  // The next acquire is not blocked by the failed one.
  const { give } = recordingGive();
  await settles(shared.acquire(new FakeHolder(2), give));
  assert.equal(shared.size, 1);
  assert.equal(source.binds, 2);
});

test("SharedHandle.acquire() rejects when give fails, closes the copy and records no holder", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const failure = new Error("worker went away");
  await assert.rejects(
    settles(shared.acquire(new FakeHolder(1), () => Promise.reject(failure))),
    (e) => e === failure,
  );
  assert.equal(shared.size, 0);
  assert.equal(source.last.closes, 1);
});

test("SharedHandle.acquire() calls are serialized: the second waits for the first", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const lent = { listen: "lent" };
  const a = new FakeHolder(1, () => Promise.resolve(lent));
  const first = deferred();
  const order: string[] = [];
  const p1 = shared.acquire(a, async () => {
    order.push("give 1");
    await first.promise;
    order.push("given 1");
  });
  const p2 = shared.acquire(new FakeHolder(2), () => (order.push("give 2"), Promise.resolve()));
  await flush();
  assert.deepEqual(order, ["give 1"]);
  assert.equal(source.binds, 1);
  assert.equal(a.lendCalls.length, 0, "the second did not start: worker 1 is no holder yet");
  first.resolve();
  await settles(Promise.all([p1, p2]));
  assert.deepEqual(order, ["give 1", "given 1", "give 2"]);
  assert.equal(source.binds, 1, "the second adopted worker 1's socket instead of binding");
  assert.deepEqual(source.adopted, [lent]);
});

test("SharedHandle.acquire() after a rejected one still runs in order", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const gate = deferred();
  const p1 = shared.acquire(new FakeHolder(1), () => gate.promise);
  const { given, give } = recordingGive();
  const p2 = shared.acquire(new FakeHolder(2), give);
  await flush();
  assert.equal(given.length, 0);
  gate.reject(new Error("first failed"));
  await assert.rejects(settles(p1), /first failed/);
  await settles(p2);
  assert.equal(shared.has(1), false);
  assert.equal(shared.has(2), true);
});

test("SharedHandle hands connections its freshly bound socket accepts to holders", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const lent = { listen: "lent" };
  const a = new FakeHolder(1, () => Promise.resolve(lent));
  const gate = deferred();
  const p1 = shared.acquire(a, () => gate.promise);
  await flush();
  const first = source.last;
  const early = { conn: "during first acquire" };
  first.onConnection(early);
  await flush();
  assert.equal(a.got.length, 0, "no holder yet");
  gate.resolve();
  await settles(p1);
  await flush();
  assert.deepEqual(a.got, [early], "queued connection handed to the first holder");
  assert.deepEqual(first.released, [early], "the primary's copy released once");
});

test("SharedHandle.remove() forgets a holder: it is not asked to lend and gets no connections", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const a = new FakeHolder(1, () => Promise.resolve({ listen: "lent by 1" }));
  const { give } = recordingGive();
  await settles(shared.acquire(a, give));
  shared.remove(1);
  assert.equal(shared.size, 0);
  assert.equal(shared.has(1), false);
  const gate = deferred();
  const b = new FakeHolder(2);
  const p = shared.acquire(b, () => gate.promise);
  await flush();
  assert.equal(a.lendCalls.length, 0);
  assert.equal(source.binds, 2);
  source.last.onConnection({ conn: "x" });
  gate.resolve();
  await settles(p);
  await flush();
  assert.equal(a.got.length, 0);
  assert.deepEqual(b.got, [{ conn: "x" }]);
});

test("SharedHandle.close() releases connections still waiting for a holder", async () => {
  const source = new FakeSource();
  const shared = new SharedHandle(KEY, source);
  const gate = deferred();
  const p = shared.acquire(new FakeHolder(1), () => gate.promise);
  await flush();
  const listener = source.last;
  const waiting = { conn: "waiting" };
  listener.onConnection(waiting);
  gate.reject(new Error("worker 1 died before taking the socket"));
  await assert.rejects(settles(p));
  assert.equal(shared.size, 0);
  assert.equal(listener.released.length, 0, "still queued: nobody could take it");
  await settles(shared.close());
  assert.deepEqual(listener.released, [waiting]);
});

// --- ReusePortHandle ------------------------------------------------------------------------

test("ReusePortHandle with a fixed port gives every member that port", async () => {
  const handle = new ReusePortHandle("reuse-port||8080", 8080);
  assert.deepEqual(await settles(Promise.all([1, 2, 3].map((id) => handle.portFor(id)))), [
    8080,
    8080,
    8080,
  ]);
  assert.equal(handle.size, 3);
  assert.ok(handle.has(1) && handle.has(2) && handle.has(3));
  handle.bound(1, 9999); // ignored: the port was never 0
  assert.equal(await settles(handle.portFor(4)), 8080);
});

test("ReusePortHandle with port 0: the first binds 0, the others wait for its real port", async () => {
  const handle = new ReusePortHandle("reuse-port||0", 0);
  assert.equal(await settles(handle.portFor(1)), 0);
  const second = track(handle.portFor(2));
  const third = track(handle.portFor(3));
  await flush();
  assert.equal(second.settled, false);
  assert.equal(third.settled, false);
  assert.equal(handle.size, 3);
  handle.bound(2, 11111); // not the binder: ignored
  await flush();
  assert.equal(second.settled, false);
  handle.bound(1, 43210);
  await flush();
  assert.equal(second.value, 43210);
  assert.equal(third.value, 43210);
  assert.equal(
    await settles(handle.portFor(4)),
    43210,
    "a later member gets the real port at once",
  );
  handle.bound(1, 5); // a second report does not change the port
  assert.equal(await settles(handle.portFor(5)), 43210);
});

test("ReusePortHandle: if the binder leaves before binding, a waiting member becomes the binder", async () => {
  const handle = new ReusePortHandle("reuse-port||0", 0);
  assert.equal(await settles(handle.portFor(1)), 0);
  const second = track(handle.portFor(2));
  const third = track(handle.portFor(3));
  await flush();
  handle.remove(1);
  await flush();
  assert.equal(second.value, 0, "worker 2 binds port 0 now");
  assert.equal(third.settled, false, "worker 3 waits for worker 2");
  assert.equal(handle.has(1), false);
  handle.bound(1, 1234); // the old binder is no longer the binder
  await flush();
  assert.equal(third.settled, false);
  handle.bound(2, 40000);
  await flush();
  assert.equal(third.value, 40000);
});

test("ReusePortHandle: if the only member binding port 0 leaves, the next one binds 0", async () => {
  const handle = new ReusePortHandle("reuse-port||0", 0);
  assert.equal(await settles(handle.portFor(1)), 0);
  handle.remove(1);
  assert.equal(handle.size, 0);
  assert.equal(await settles(handle.portFor(2)), 0);
});

test("ReusePortHandle: the binder leaving after it bound keeps the real port", async () => {
  const handle = new ReusePortHandle("reuse-port||0", 0);
  assert.equal(await settles(handle.portFor(1)), 0);
  handle.bound(1, 45678);
  handle.remove(1);
  assert.equal(await settles(handle.portFor(2)), 45678);
});

test("ReusePortHandle: a waiting member that left does not become the binder", async () => {
  // Worker 2 dies while waiting for worker 1's port; then worker 1 dies before binding. Worker 3,
  // still alive and waiting, must get to bind port 0 instead of waiting for the dead worker 2.
  const handle = new ReusePortHandle("reuse-port||0", 0);
  assert.equal(await settles(handle.portFor(1)), 0);
  const second = track(handle.portFor(2));
  const third = track(handle.portFor(3));
  await flush();
  handle.remove(2);
  handle.remove(1);
  await flush();
  assert.equal(third.settled, true, "worker 3 is not left waiting for a member that left");
  assert.equal(third.value, 0);
  assert.equal(handle.size, 1);
  void second;
});
