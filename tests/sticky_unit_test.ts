// Unit tests of L7 sticky routing's parts: head parsing and keys (src/_sticky_head.ts), the claim
// table with a fake clock (src/_claims.ts), base64 (src/_sticky_bytes.ts), the `sticky` option,
// and RoundRobinHandle routing prepared connections with a fake head-reading listener.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClaimTable } from "../src/_claims.ts";
import { resolveOptions } from "../src/_resolve_options.ts";
import { fromBase64, toBase64 } from "../src/_sticky_bytes.ts";
import { parseHead, stickyKey } from "../src/_sticky_head.ts";
import { ClusterError } from "../src/errors.ts";
import { type HandoffTarget, RoundRobinHandle } from "../src/round_robin_handle.ts";
import type { HeadRead } from "../src/scheduler_types.ts";
import { FakeListener } from "./_fake_listener.ts";
import { flush } from "./_promises.ts";

const enc = (text: string) => new TextEncoder().encode(text);

test("parseHead() reads the request line and lower-cased headers; rejects what is not HTTP/1", () => {
  const head = parseHead(enc("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-User: u1\r\nCookie: a=1\r\ncookie: b=2\r\n\r\nBODY"))!;
  assert.equal(head.method, "GET");
  assert.equal(head.target, "/a?b=1");
  assert.equal(head.version, "HTTP/1.1");
  assert.equal(head.headers["x-user"], "u1");
  assert.equal(head.headers["cookie"], "a=1; b=2");
  assert.equal(parseHead(enc("\x16\x03\x01 tls hello\r\n\r\n")), undefined);
  assert.equal(parseHead(enc("GET / HTTP/1.1\r\nno colon here\r\n\r\n")), undefined);
  const proto = parseHead(enc("GET / HTTP/1.1\r\n__proto__: x\r\n\r\n"))!;
  assert.equal(Object.getPrototypeOf(proto.headers), Object.prototype, "__proto__ stays a key");
  assert.equal(proto.headers["__proto__"], "x");
});

test("stickyKey() takes the header, else the cookie, else the query parameter", () => {
  const head = parseHead(enc(
    'GET /socket.io/?EIO=4&transport=polling&sid=S1 HTTP/1.1\r\nX-T: T1\r\nCookie: theme=x; session="C1"\r\n\r\n',
  ))!;
  assert.equal(stickyKey(head, { header: "X-T", cookie: "session", query: "sid" }), "T1");
  assert.equal(stickyKey(head, { header: "x-none", cookie: "session", query: "sid" }), "C1");
  assert.equal(stickyKey(head, { cookie: "none", query: "sid" }), "S1");
  assert.equal(stickyKey(head, { query: "none" }), undefined);
});

test("base64 round-trips every byte value", () => {
  const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => i % 256);
  assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
  assert.equal(fromBase64("not base64!"), undefined);
});

test("ClaimTable: claims, re-claims, forgets a worker's claims, expires idle ones, bounds its size", async () => {
  let now = 0;
  const claims = new ClaimTable({ ttl: 1000, maxClaims: 3, now: () => now });
  claims.claim("a", 1);
  claims.claim("b", 2);
  assert.equal(claims.owner("a"), 1);
  claims.claim("a", 3);
  assert.equal(claims.owner("a"), 3, "a later claim wins");
  claims.forgetWorker(2);
  assert.equal(claims.owner("b"), undefined);
  now = 900;
  assert.equal(claims.owner("a"), 3, "a use postpones the expiry");
  now = 1800;
  assert.equal(claims.owner("a"), 3);
  now = 2801;
  assert.equal(claims.owner("a"), undefined, "idle for longer than ttl");
  for (const k of ["k1", "k2", "k3", "k4"]) claims.claim(k, 1);
  assert.equal(claims.size, 3);
  assert.equal(claims.owner("k1"), undefined, "the least recently used went first");
  // waitFor: a claim that arrives meanwhile, and one that never does.
  const waiting = claims.waitFor("late", 1000);
  claims.claim("late", 7);
  assert.equal(await waiting, 7);
  assert.equal(await claims.waitFor("never", 10), undefined);
  assert.equal(await claims.waitFor("k4", 0), 1);
});

test("the sticky option: validation, defaults, UNSUPPORTED under reuse-port and shared", () => {
  const o = resolveOptions({ sticky: { query: "sid" } });
  assert.deepEqual(o.sticky, {
    header: undefined,
    cookie: undefined,
    query: "sid",
    maxHeadSize: 16384,
    headTimeout: 10_000,
    claimWait: 100,
    claimTtl: 600_000,
    maxClaims: 100_000,
  });
  // Keys the client chooses wait for no claim unless told to: each would cost claimWait (R5).
  assert.equal(resolveOptions({ sticky: { header: "x-user" } }).sticky?.claimWait, 0);
  assert.equal(resolveOptions({ sticky: { cookie: "session" } }).sticky?.claimWait, 0);
  assert.equal(resolveOptions({ sticky: { cookie: "session", claimWait: 50 } }).sticky?.claimWait, 50);
  assert.equal(resolveOptions({ sticky: { cookie: "s", query: "sid" } }).sticky?.claimWait, 100);
  assert.throws(() => resolveOptions({ sticky: {} }), TypeError);
  assert.throws(() => resolveOptions({ sticky: "sid" as never }), TypeError);
  assert.throws(() => resolveOptions({ sticky: { query: "sid", maxHeadSize: 10 } }), RangeError);
  for (const policy of ["reuse-port", "shared"] as const) {
    assert.throws(
      () => resolveOptions({ policy, sticky: { header: "x-user" } }),
      (e: Error) => e instanceof ClusterError && e.code === "UNSUPPORTED" && /"round-robin"/.test(e.message),
    );
  }
});

/** A listener whose connections are fake requests: readHead() answers with their bytes. */
class HeadListener extends FakeListener {
  readHead(connection: unknown): Promise<HeadRead> {
    const c = connection as { text?: string; refuse?: "too-large" | "timeout" };
    if (c.refuse) return Promise.resolve({ ok: false, reason: c.refuse });
    return Promise.resolve({ ok: true, bytes: enc(c.text!), rest: () => new Uint8Array(0) });
  }
}

class Target implements HandoffTarget {
  readonly id: number;
  readonly slot: number;
  got: Array<{ connection: unknown; head: string }> = [];
  constructor(id: number) {
    this.id = id;
    this.slot = id - 1;
  }
  handoff(_key: string, connection: unknown, head?: Uint8Array): Promise<boolean> {
    this.got.push({ connection, head: new TextDecoder().decode(head) });
    return Promise.resolve(true);
  }
}

test("RoundRobinHandle with sticky routing: claimant first, hashed keys stable, bytes handed over", async () => {
  const now = 0;
  const claims = new ClaimTable({ ttl: 60_000, maxClaims: 100, now: () => now });
  const errors: ClusterError[] = [];
  const rr = new RoundRobinHandle("round-robin||8080", {
    maxInFlight: 4,
    maxQueue: 100,
    now: () => now,
    onError: (e) => errors.push(e),
    sticky: { header: "x-user", maxHeadSize: 1024, headTimeout: 1000, claimWait: 0, claims },
  });
  const listener = new HeadListener();
  rr.listener = listener;
  const targets = [new Target(1), new Target(2), new Target(3)];
  for (const t of targets) rr.add(t);
  const send = async (user?: string) => {
    const text = `GET / HTTP/1.1\r\n${user ? `X-User: ${user}\r\n` : ""}\r\nGET /next HTTP/1.1\r\n\r\n`;
    const connection = { text };
    rr.distribute(connection);
    await flush();
    const t = targets.find((t) => t.got.some((g) => g.connection === connection))!;
    assert.equal(t.got.find((g) => g.connection === connection)!.head, text, "every byte read goes along");
    return t.id;
  };
  claims.claim("vip", 2);
  for (let i = 0; i < 5; i++) assert.equal(await send("vip"), 2);
  const first = await send("user-7");
  for (let i = 0; i < 5; i++) assert.equal(await send("user-7"), first);
  // Refused heads: closed by the adapter, one HEAD_REJECTED error per burst with the counts.
  rr.distribute({ refuse: "too-large" });
  rr.distribute({ refuse: "timeout" });
  await flush();
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, "HEAD_REJECTED");
  assert.deepEqual(rr.refusedHeads, { "too-large": 1, timeout: 1 });
  // The claimant leaves: its key is re-hashed over the others.
  rr.remove(2);
  claims.forgetWorker(2);
  const moved = await send("vip");
  assert.notEqual(moved, 2);
  assert.equal(await send("vip"), moved);
});

test("RoundRobinHandle: a connection waiting for its busy sticky worker lets the others pass", async () => {
  const claims = new ClaimTable({ ttl: 60_000, maxClaims: 100, now: () => 0 });
  const rr = new RoundRobinHandle("round-robin||8080", {
    maxInFlight: 1,
    maxQueue: 100,
    now: () => 0,
    sticky: { header: "x-user", maxHeadSize: 1024, headTimeout: 1000, claimWait: 0, claims },
  });
  rr.listener = new HeadListener();
  const pending: Array<(accepted: boolean) => void> = [];
  const got = new Map<number, unknown[]>([[1, []], [2, []]]);
  for (const id of [1, 2]) {
    rr.add({
      id,
      slot: id - 1,
      handoff: (_key, connection) => {
        got.get(id)!.push(connection);
        return new Promise<boolean>((resolve) => id === 1 ? pending.push(resolve) : resolve(true));
      },
    });
  }
  claims.claim("a", 1);
  claims.claim("b", 2);
  const conn = (user: string) => ({ text: `GET / HTTP/1.1\r\nX-User: ${user}\r\n\r\n` });
  const a1 = conn("a"), a2 = conn("a"), b1 = conn("b"), b2 = conn("b");
  for (const c of [a1, a2, b1, b2]) rr.distribute(c);
  await flush();
  assert.deepEqual(got.get(1), [a1], "worker 1 is full (maxInFlight 1): a2 waits for it");
  assert.deepEqual(got.get(2), [b1, b2], "b's connections passed the waiting a2");
  assert.equal(rr.queued, 1);
  pending.shift()!(true);
  await flush();
  assert.deepEqual(got.get(1), [a1, a2]);
  assert.equal(rr.queued, 0);
});

test("RoundRobinHandle: any number of connections waiting for one busy worker let the others pass", async () => {
  const claims = new ClaimTable({ ttl: 60_000, maxClaims: 100, now: () => 0 });
  const rr = new RoundRobinHandle("round-robin||8080", {
    maxInFlight: 1,
    maxQueue: 1000,
    now: () => 0,
    sticky: { header: "x-user", maxHeadSize: 1024, headTimeout: 1000, claimWait: 0, claims },
  });
  rr.listener = new HeadListener();
  const pending: Array<(accepted: boolean) => void> = [];
  const got = new Map<number, unknown[]>([[1, []], [2, []]]);
  for (const id of [1, 2]) {
    rr.add({
      id,
      slot: id - 1,
      handoff: (_key, connection) => {
        got.get(id)!.push(connection);
        return new Promise<boolean>((resolve) => id === 1 ? pending.push(resolve) : resolve(true));
      },
    });
  }
  claims.claim("a", 1);
  claims.claim("b", 2);
  const conn = (user: string) => ({ text: `GET / HTTP/1.1\r\nX-User: ${user}\r\n\r\n` });
  const forA = Array.from({ length: 200 }, () => conn("a"));
  const forB = Array.from({ length: 5 }, () => conn("b"));
  for (const c of [...forA, ...forB]) rr.distribute(c);
  await flush();
  assert.deepEqual(got.get(2), forB, "worker 2's clients passed the 199 waiting for worker 1");
  assert.deepEqual(got.get(1), forA.slice(0, 1));
  assert.equal(rr.queued, 199);
  // Worker 1's acks take its waiting connections in order, one per free slot.
  for (let i = 1; i < 200; i++) {
    pending.shift()!(true);
    await flush();
  }
  assert.deepEqual(got.get(1), forA);
  assert.equal(rr.queued, 0);
  // Worker 1 leaves with connections waiting for it: they go to the others, not lost.
  const more = Array.from({ length: 3 }, () => conn("a"));
  for (const c of more) rr.distribute(c);
  await flush();
  assert.equal(rr.queued, 3, "worker 1 still holds its last handoff");
  rr.remove(1);
  claims.forgetWorker(1);
  await flush();
  assert.deepEqual(got.get(2)!.slice(5), more);
  assert.equal(rr.queued, 0);
});

test("RoundRobinHandle bounds connections whose head is still coming by the queue's bound", async () => {
  const rr = new RoundRobinHandle("round-robin||8080", {
    maxInFlight: 4,
    maxQueue: 3,
    sticky: { header: "x-user", maxHeadSize: 1024, headTimeout: 1000, claimWait: 0, claims: undefined },
  });
  const listener = new HeadListener();
  listener.readHead = () => new Promise<HeadRead>(() => {}); // clients that never finish
  rr.listener = listener;
  const conns = Array.from({ length: 5 }, (_, i) => ({ slow: i }));
  for (const c of conns) rr.distribute(c);
  await flush();
  assert.deepEqual(listener.released, conns.slice(3), "beyond maxQueue, closed at once");
  assert.equal(rr.dropped, 2);
  // Closing the address closes the connections whose head is still coming, not only the queued.
  await rr.close();
  assert.deepEqual(new Set(listener.released), new Set(conns));
});
