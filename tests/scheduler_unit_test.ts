// Unit tests of the schedulers (src/scheduler_*.ts) and of how RoundRobinHandle uses them, with
// fake workers, a fake listener and a fake clock (no processes).
import { test } from "node:test";
import assert from "node:assert/strict";
import { type HandoffTarget, RoundRobinHandle } from "../src/round_robin_handle.ts";
import { createScheduler } from "../src/scheduler_create.ts";
import { forwardedFor, ipHash, rendezvous } from "../src/scheduler_ip_hash.ts";
import { leastConnections } from "../src/scheduler_least_connections.ts";
import { powerOfTwo } from "../src/scheduler_power_of_two.ts";
import { roundRobin } from "../src/scheduler_round_robin.ts";
import type { Candidate, ScheduleInfo, SchedulerOption } from "../src/scheduler_types.ts";
import { ClusterError } from "../src/errors.ts";
import { FakeListener } from "./_fake_listener.ts";
import { flush } from "./_promises.ts";

const KEY = "round-robin||8080";

function info(remoteAddress?: string, headers?: Record<string, string>): ScheduleInfo {
  const request = headers
    ? { method: "GET", target: "/", version: "HTTP/1.1", headers }
    : undefined;
  return { remoteAddress, remotePort: 40000, key: KEY, request };
}

function candidates(loads: number[], slots?: number[]): Candidate[] {
  return loads.map((active, i) => ({
    id: i + 1,
    slot: slots?.[i] ?? i,
    active,
    inFlight: 0,
    stalled: false,
  }));
}

/** A fake connection: the client address the fake listener reports for it. */
interface Conn {
  name: string;
  address: string;
}

/** A listener that tells each fake connection's peer address (for ip-hash). */
class PeerListener extends FakeListener {
  remote(connection: unknown): { address: string | undefined; port: number | undefined } {
    return { address: (connection as Conn).address, port: 40000 };
  }
}

/** A fake worker that holds every connection it takes open until `close()`. */
class FakeWorker implements HandoffTarget {
  readonly id: number;
  readonly slot: number;
  connected = true;
  open = new Set<unknown>();
  got: unknown[] = [];
  /** Answers handoffs only when `release()` is called, if set. */
  manual = false;
  #pending: Array<() => void> = [];
  constructor(id: number, slot = id - 1) {
    this.id = id;
    this.slot = slot;
  }
  activeConnections(): number {
    return this.open.size;
  }
  handoff(_key: string, connection: unknown): Promise<boolean> {
    this.got.push(connection);
    // It counts the connection as open when it acknowledges it (as a worker's reply does).
    if (!this.manual) return Promise.resolve().then(() => this.open.add(connection) && true);
    return new Promise((resolve) =>
      this.#pending.push(() => {
        this.open.add(connection);
        resolve(true);
      })
    );
  }
  release(): void {
    this.#pending.shift()?.();
  }
  closeAll(): void {
    this.open.clear();
  }
}

function handleWith(
  scheduler: SchedulerOption | undefined,
  extra: { now?: () => number; onError?: (e: ClusterError) => void; random?: () => number } = {},
) {
  // spillAfter 0: up to maxInFlight at once (src/_spill_gate.ts has its own tests).
  const rr = new RoundRobinHandle(KEY, {
    maxInFlight: 4,
    maxQueue: 1000,
    spillAfter: 0,
    scheduler,
    ...extra,
  });
  const listener = new PeerListener();
  rr.listener = listener;
  return { rr, listener };
}

function conns(n: number, address = (i: number) => `10.0.${i >> 8}.${i & 255}`): Conn[] {
  return Array.from({ length: n }, (_, i) => ({ name: `c${i}`, address: address(i) }));
}

// --- the schedulers alone ---------------------------------------------------------------------

test("least-connections picks the candidate with the fewest open plus in-flight connections", () => {
  const c = candidates([5, 2, 7]);
  assert.equal(leastConnections().pick(c, info())?.id, 2);
  const withInFlight = c.map((x) => x.id === 2 ? { ...x, inFlight: 4 } : x);
  assert.equal(leastConnections().pick(withInFlight, info())?.id, 1, "2 + 4 > 5");
});

test("least-connections breaks ties by the order offered (the handle's rotation)", () => {
  assert.equal(leastConnections().pick(candidates([1, 1, 1]), info())?.id, 1);
});

test("round-robin takes the first offered candidate whatever its load", () => {
  assert.equal(roundRobin().pick(candidates([9, 0]), info())?.id, 1);
});

test("power-of-two draws two distinct candidates and takes the less loaded", () => {
  const c = candidates([3, 8, 1, 6]);
  const draws = [0.0, 0.0]; // i = 0, then j = 1: loads 3 vs 8
  let k = 0;
  assert.equal(powerOfTwo(() => draws[k++ % 2]).pick(c, info())?.id, 1);
  // i = 2 (0.5 * 4), j = 2 + 1 + floor(0.99 * 3) = 5 -> 1: loads 1 vs 8
  const d2 = [0.5, 0.99];
  k = 0;
  assert.equal(powerOfTwo(() => d2[k++ % 2]).pick(c, info())?.id, 3);
  // With a real random source it never picks the most loaded of 4 when the two draws differ.
  const most = candidates([0, 0, 0, 100]);
  for (let i = 0; i < 200; i++) assert.notEqual(powerOfTwo().pick(most, info())?.id, 4);
});

test("power-of-two spreads 10,000 picks within 10% of even over 4 equal candidates", () => {
  const counts = [0, 0, 0, 0];
  const scheduler = powerOfTwo();
  for (let i = 0; i < 10_000; i++) {
    counts[scheduler.pick(candidates([0, 0, 0, 0]), info())!.id - 1]++;
  }
  for (const n of counts) assert.ok(Math.abs(n - 2500) < 250, `counts ${counts}`);
});

test("ip-hash sends one address to one slot every time, and spreads addresses evenly", () => {
  const c = candidates([0, 0, 0, 0]);
  const scheduler = ipHash();
  const counts = new Map<number, number>();
  for (let i = 0; i < 4000; i++) {
    const address = `192.168.${i >> 8}.${i & 255}`;
    const first = scheduler.pick(c, info(address))!.slot;
    assert.equal(scheduler.pick(c, info(address))!.slot, first);
    counts.set(first, (counts.get(first) ?? 0) + 1);
  }
  for (const n of counts.values()) assert.ok(Math.abs(n - 1000) < 150, `${[...counts]}`);
});

test("ip-hash moves about 1/(N+1) of the addresses, all to the new slot, when scaling N to N+1", () => {
  for (const n of [2, 3, 4, 8]) {
    const before = candidates(Array(n).fill(0)), after = candidates(Array(n + 1).fill(0));
    let moved = 0;
    const total = 3000;
    for (let i = 0; i < total; i++) {
      const address = `172.16.${i >> 8}.${i & 255}`;
      const a = rendezvous(address, before)!.slot, b = rendezvous(address, after)!.slot;
      if (a !== b) {
        moved++;
        assert.equal(b, n, "a moved address goes to the new slot");
      }
    }
    const expected = total / (n + 1);
    assert.ok(Math.abs(moved - expected) < expected * 0.2, `N=${n}: moved ${moved}, ~${expected}`);
  }
});

test("ip-hash moves only the removed slot's addresses when scaling down", () => {
  const before = candidates([0, 0, 0, 0]);
  const after = before.filter((c) => c.slot !== 1);
  for (let i = 0; i < 2000; i++) {
    const address = `10.1.${i >> 8}.${i & 255}`;
    const a = rendezvous(address, before)!.slot, b = rendezvous(address, after)!.slot;
    if (a !== 1) assert.equal(b, a, `${address} kept its slot`);
    else assert.notEqual(b, 1);
  }
});

test("ip-hash keeps an address on its slot when that slot's worker is replaced (new id)", () => {
  const before = candidates([0, 0, 0]);
  const replaced = before.map((c) => c.slot === 2 ? { ...c, id: 99 } : c);
  for (let i = 0; i < 500; i++) {
    const address = `10.2.0.${i & 255}:${i}`;
    assert.equal(rendezvous(address, replaced)!.slot, rendezvous(address, before)!.slot);
  }
});

test("ip-hash with trustProxy hashes the first Forwarded / X-Forwarded-For address", () => {
  const c = candidates([0, 0, 0, 0, 0, 0, 0, 0]);
  const proxied = ipHash({ trustProxy: true }), plain = ipHash();
  const viaXff = info("10.0.0.1", { "x-forwarded-for": "203.0.113.7, 10.0.0.1" });
  assert.equal(proxied.pick(c, viaXff), rendezvous("203.0.113.7", c));
  assert.equal(plain.pick(c, viaXff), rendezvous("10.0.0.1", c), "not without trustProxy");
  assert.equal(
    forwardedFor(info("x", { forwarded: 'for="[2001:db8::1]:4711";proto=https' })),
    "2001:db8::1",
  );
  assert.equal(
    forwardedFor(info("x", { forwarded: "for=198.51.100.17, for=10.0.0.2" })),
    "198.51.100.17",
  );
  assert.equal(forwardedFor(info("x")), undefined, "no request head");
});

// --- the user's function, guarded -------------------------------------------------------------

test("a scheduler function's answer is used; undefined lets least-connections decide", () => {
  const errors: Error[] = [];
  const last = createScheduler((c) => c.at(-1), { onError: (e) => errors.push(e) });
  assert.equal(last.pick(candidates([0, 0, 0]), info())?.id, 3);
  const none = createScheduler(() => undefined, { onError: (e) => errors.push(e) });
  assert.equal(none.pick(candidates([4, 1, 3]), info())?.id, 2);
  const copy = createScheduler((c) => ({ ...c[0] }), { onError: (e) => errors.push(e) });
  assert.equal(copy.pick(candidates([4, 1]), info())?.id, 1, "a copy naming a candidate's id");
  assert.deepEqual(errors, []);
});

test("a throwing or wrong scheduler function falls back and reports one error per burst", () => {
  let now = 0;
  const errors: ClusterError[] = [];
  let mode: "throw" | "wrong" | "ok" = "throw";
  const scheduler = createScheduler((c) => {
    if (mode === "throw") throw new Error("boom");
    if (mode === "wrong") return { id: 42, slot: 0, active: 0, inFlight: 0, stalled: false };
    return c[0];
  }, { onError: (e) => errors.push(e), now: () => now });
  for (let i = 0; i < 100; i++) {
    assert.equal(scheduler.pick(candidates([3, 1, 2]), info())?.id, 2, "least-connections' pick");
    now += 5; // 100 failures within 500 ms: one burst
  }
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, "SCHEDULER_FAILED");
  assert.match(errors[0].message, /threw: boom/);
  now += 1000;
  mode = "wrong";
  scheduler.pick(candidates([3, 1, 2]), info());
  assert.equal(errors.length, 2, "a new burst after the quiet period");
  assert.match(errors[1].message, /id 42.*not one of the candidates/);
  assert.match(errors[1].message, /99 more failures/, "the previous burst's suppressed count");
  mode = "ok";
  assert.equal(scheduler.pick(candidates([3, 1, 2]), info())?.id, 1);
});

// --- the handle with schedulers -----------------------------------------------------------------

test("RoundRobinHandle with least-connections sends new connections away from a loaded worker", async () => {
  const { rr } = handleWith(undefined); // the default
  const busy = new FakeWorker(1);
  rr.add(busy);
  for (const c of conns(50)) rr.distribute(c);
  await flush();
  assert.equal(busy.open.size, 50);
  const idle = new FakeWorker(2);
  rr.add(idle);
  // One at a time (each acknowledged before the next: a worker never full).
  for (const c of conns(40)) {
    rr.distribute(c);
    await flush();
  }
  assert.equal(idle.got.length, 40, "all 40 went to the worker with fewer open connections");
  for (const c of conns(30)) {
    rr.distribute(c);
    await flush();
  }
  // 50 vs 40: the next 10 even them out, then they alternate.
  assert.ok(
    Math.abs(busy.open.size - idle.open.size) <= 1,
    `${busy.open.size} vs ${idle.open.size}`,
  );
  assert.equal(busy.open.size + idle.open.size, 120);
});

test("RoundRobinHandle with least-connections hands a burst to a loaded worker rather than wait", async () => {
  const { rr } = handleWith(undefined, { now: () => 0 });
  const busy = new FakeWorker(1);
  rr.add(busy);
  for (const c of conns(50)) rr.distribute(c);
  await flush();
  const idle = new FakeWorker(2);
  idle.manual = true; // acknowledges nothing yet: full after maxInFlight (4)
  rr.add(idle);
  for (const c of conns(6)) rr.distribute(c);
  await flush();
  assert.equal(idle.got.length, 4, "the less loaded worker, up to maxInFlight");
  assert.equal(busy.got.length, 52, "the rest is not held back while a worker can take it");
  assert.equal(rr.queued, 0);
});

test("RoundRobinHandle with strict round-robin alternates whatever the load", async () => {
  const { rr } = handleWith("round-robin");
  const busy = new FakeWorker(1);
  rr.add(busy);
  for (const c of conns(50)) rr.distribute(c);
  await flush();
  const idle = new FakeWorker(2);
  rr.add(idle);
  for (const c of conns(40)) rr.distribute(c);
  await flush();
  assert.equal(idle.got.length, 20);
  assert.equal(busy.got.length, 70);
});

test("RoundRobinHandle counts unacknowledged handoffs as load", async () => {
  const { rr } = handleWith("least-connections", { now: () => 0 });
  const a = new FakeWorker(1), b = new FakeWorker(2);
  a.manual = true; // never acknowledges
  rr.add(a);
  rr.add(b);
  for (const c of conns(10)) {
    rr.distribute(c);
    await flush();
    b.closeAll(); // short connections: b's open count falls back to 0
  }
  assert.equal(a.got.length, 1, "a's one unacknowledged handoff counts as load");
  assert.equal(b.got.length, 9);
});

test("RoundRobinHandle with ip-hash keeps each client on one worker and moves ~1/(N+1) on scale-up", async () => {
  const { rr } = handleWith("ip-hash");
  const workers = [new FakeWorker(1), new FakeWorker(2), new FakeWorker(3)];
  for (const w of workers) rr.add(w);
  const clients = Array.from({ length: 300 }, (_, i) => `127.0.${i >> 8}.${i & 255}`);
  const place = async (): Promise<Map<string, number>> => {
    const where = new Map<string, number>();
    for (const address of clients) {
      const conn = { name: address, address };
      rr.distribute(conn);
      await flush();
      for (const w of workers) if (w.got.at(-1) === conn) where.set(address, w.slot);
    }
    return where;
  };
  const first = await place();
  assert.equal(first.size, clients.length);
  const again = await place();
  assert.deepEqual(again, first, "every client on the same worker again");
  const added = new FakeWorker(4);
  workers.push(added);
  rr.add(added);
  const after = await place();
  let moved = 0;
  for (const [address, slot] of after) {
    if (slot !== first.get(address)) {
      moved++;
      assert.equal(slot, 3, "moved clients go to the new worker");
    }
  }
  assert.ok(moved > 40 && moved < 110, `moved ${moved} of 300 (expected ~75)`);
  // A worker that left: its clients are re-hashed over the others, nobody else moves.
  rr.remove(2);
  const down = await place();
  for (const [address, slot] of down) {
    if (after.get(address) !== 1) assert.equal(slot, after.get(address));
    else assert.notEqual(slot, 1);
  }
});

test("RoundRobinHandle with ip-hash waits for its worker when it is merely full", async () => {
  let now = 0;
  const { rr } = handleWith("ip-hash", { now: () => now });
  const a = new FakeWorker(1), b = new FakeWorker(2);
  a.manual = true;
  b.manual = true;
  rr.add(a);
  rr.add(b);
  const address = "10.9.9.9";
  const owner = rendezvous(address, candidates([0, 0]))!.id === 1 ? a : b;
  const other = owner === a ? b : a;
  for (let i = 0; i < 6; i++) rr.distribute({ name: `x${i}`, address });
  await flush();
  assert.equal(owner.got.length, 4, "maxInFlight");
  assert.equal(other.got.length, 0, "the rest wait for their worker");
  assert.equal(rr.queued, 2);
  owner.release();
  await flush();
  assert.equal(owner.got.length, 5);
  // Merely slow (20 ms < 50 ms < 1 s), the owner keeps its client: it waits.
  now += 50;
  rr.distribute({ name: "slow", address });
  await flush();
  assert.equal(other.got.length, 0);
  // Once the owner is stalled beyond 1 s, its clients are re-hashed over the others.
  now += 1000;
  rr.distribute({ name: "late", address: "10.9.9.10" });
  await flush();
  assert.equal(other.got.length, 3, "the waiting ones and the new one go to the responsive worker");
});

test("RoundRobinHandle never offers a stalled or disconnected worker while another can take it", async () => {
  let now = 0;
  const seen: number[][] = [];
  const { rr } = handleWith((c) => {
    seen.push(c.map((x) => x.id));
    return c[0];
  }, { now: () => now });
  const stuck = new FakeWorker(1), fine = new FakeWorker(2), gone = new FakeWorker(3);
  stuck.manual = true;
  rr.add(stuck);
  rr.add(fine);
  rr.add(gone);
  gone.connected = false;
  rr.distribute({ name: "a", address: "1.1.1.1" });
  await flush();
  now += 100;
  for (const c of conns(5)) rr.distribute(c);
  await flush();
  assert.ok(
    seen.every((ids) => !ids.includes(3)),
    `never the disconnected one: ${JSON.stringify(seen)}`,
  );
  assert.ok(seen.slice(1).every((ids) => ids.length === 1 && ids[0] === 2), JSON.stringify(seen));
});

test("RoundRobinHandle hands a connection on when the scheduler function throws, with one error", async () => {
  let now = 0;
  const errors: ClusterError[] = [];
  const { rr, listener } = handleWith(() => {
    throw new TypeError("bad scheduler");
  }, { now: () => now, onError: (e) => errors.push(e) });
  const a = new FakeWorker(1), b = new FakeWorker(2);
  rr.add(a);
  rr.add(b);
  const burst = conns(100);
  for (const c of burst) rr.distribute(c);
  await flush();
  assert.equal(a.got.length + b.got.length, 100, "no connection lost");
  assert.equal(listener.released.length, 100);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof ClusterError);
  assert.equal(errors[0].code, "SCHEDULER_FAILED");
  now += 2000;
  rr.distribute({ name: "next burst", address: "1.2.3.4" });
  await flush();
  assert.equal(errors.length, 2);
});

test("RoundRobinHandle.load shows each member's open connections and handoffs in flight", async () => {
  const { rr } = handleWith(undefined, { now: () => 0 });
  const a = new FakeWorker(1), b = new FakeWorker(2);
  b.manual = true;
  rr.add(a);
  rr.add(b);
  for (const c of conns(4)) rr.distribute(c);
  await flush();
  const load = rr.load;
  assert.deepEqual(load.map((l) => l.id), [1, 2]);
  assert.equal(load[0].active + load[1].inFlight, 4);
  assert.equal(load[0].inFlight, 0);
  assert.equal(load[1].active, 0);
});

test("RoundRobinHandle's default path picks as least-connections does through the general path", async () => {
  // The default (least-connections, no sticky) skips building candidates; the same function as
  // a user scheduler goes the general way. Driven alike, both must choose the same workers.
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const run = async (scheduler: SchedulerOption | undefined, draw: () => number) => {
    let now = 0;
    const rr = new RoundRobinHandle(KEY, {
      maxInFlight: 2,
      maxQueue: 1000,
      now: () => now,
      scheduler,
    });
    rr.listener = new FakeListener();
    const chosen: number[] = [];
    const pending: Array<() => void> = [];
    const active = new Map<number, number>();
    for (const id of [1, 2, 3, 4]) {
      active.set(id, 0);
      rr.add({
        id,
        slot: id - 1,
        connected: true,
        activeConnections: () => active.get(id)!,
        handoff: () => {
          chosen.push(id);
          return new Promise<boolean>((resolve) => pending.push(() => resolve(true)));
        },
      });
    }
    for (let step = 0; step < 400; step++) {
      const r = draw();
      if (r < 0.5) rr.distribute({ step });
      else if (r < 0.8 && pending.length > 0) {
        pending.splice(Math.floor(draw() * pending.length), 1)[0]();
      } else if (r < 0.95) active.set(1 + Math.floor(draw() * 4), Math.floor(draw() * 5));
      else now += 15; // some workers' oldest handoffs cross stallAfter (20 ms)
      await flush();
    }
    for (const resolve of pending.splice(0)) resolve();
    await flush();
    return chosen;
  };
  const draws: number[] = Array.from({ length: 2000 }, random);
  const replay = () => {
    let i = 0;
    return () => draws[i++ % draws.length];
  };
  const plain = await run(undefined, replay());
  const general = await run((c) => leastConnections().pick(c, info()), replay());
  assert.ok(plain.length > 100, `${plain.length} handoffs`);
  assert.deepEqual(plain, general);
});
