// Batches of small messages (adapters/_ipc_batch.ts, adapters/_ipc.ts) on the fake IPC target:
// what may go in one, when the endpoint starts batching (the peer said it reads batches), the
// order of writes around large messages, handles and the close, and how a batch is read back.
import assert from "node:assert/strict";
import { test } from "node:test";
import { IpcEndpoint } from "../adapters/_ipc.ts";
import { BATCH, BATCH_MESSAGES, batchableSize } from "../adapters/_ipc_batch.ts";
import { fakeTarget } from "./_fake_ipc_target.ts";
import { flush } from "./_promises.ts";

const BATCHES = { cmd: "NODE_XCLUSTER_BATCHES" };
const noEvents = { message() {}, fault() {} };

/** A primary's endpoint whose worker said it reads batches, and the writes made so far. */
function batchingPrimary() {
  const fake = fakeTarget();
  const endpoint = new IpcEndpoint(fake.target, "node", "json", noEvents);
  fake.emit("internalMessage", BATCHES);
  fake.writes.length = 0; // the answer
  return { ...fake, endpoint };
}

test("batchableSize: small plain data may be batched; what a serializer could reject may not", () => {
  assert.ok(batchableSize({ i: 1, d: "x".repeat(64) }) >= 64);
  assert.ok(batchableSize(["a", 1, true, null, { n: NaN, gap: undefined }, [[]]]) > 0);
  assert.ok(batchableSize(Object.assign(Object.create(null), { a: 1 })) > 0);
  const refused = [
    undefined, // alone: not a message
    10n,
    { f: () => {} },
    { s: Symbol("s") },
    new Date(0),
    new Map(),
    new (class Point {})(),
    Object.create({ inherited: 1 }),
    "x".repeat(4096), // large: written alone
    Array.from({ length: 100 }, (_, i) => i), // many values
    [[[[[[[[[["deep"]]]]]]]]]],
  ];
  for (const value of refused) assert.equal(batchableSize(value), -1, String(value));
});

test("IpcEndpoint: after the first message of a turn, small ones go in one batch at the turn's end", async () => {
  const { endpoint, writes } = batchingPrimary();
  for (const n of [1, 2, 3]) endpoint.send({ n }, undefined, true);
  assert.deepEqual(writes.map((w) => w.message), [{ n: 1 }], "the first at once, the rest wait");
  await flush();
  assert.deepEqual(writes.map((w) => w.message), [
    { n: 1 },
    { cmd: BATCH, msgs: [{ n: 2 }, { n: 3 }] },
  ]);
  // A later turn starts again with a message written alone.
  endpoint.send({ n: 4 }, undefined, true);
  assert.deepEqual(writes.at(-1)!.message, { n: 4 });
});

test("IpcEndpoint: nothing is batched before the peer said it reads batches", async () => {
  const { target, writes, emit } = fakeTarget();
  const endpoint = new IpcEndpoint(target, "node", "json", noEvents);
  for (const n of [1, 2, 3]) endpoint.send({ n }, undefined, true);
  await flush();
  assert.deepEqual(writes.map((w) => w.message), [{ n: 1 }, { n: 2 }, { n: 3 }]);
  emit("internalMessage", BATCHES);
  emit("internalMessage", BATCHES); // answered once
  assert.deepEqual(writes.slice(3).map((w) => w.message), [BATCHES]);
});

test("IpcEndpoint (a worker's end): says it reads batches at once, batches once answered", async () => {
  const { target, writes, emit } = fakeTarget();
  const endpoint = new IpcEndpoint(target, "node", "json", { ...noEvents, announce: true });
  assert.deepEqual(writes.map((w) => w.message), [BATCHES]);
  for (const n of [1, 2]) endpoint.send({ n }, undefined, true);
  await flush();
  assert.equal(writes.length, 3, "unanswered: each alone");
  emit("internalMessage", BATCHES);
  assert.equal(writes.length, 3, "the worker's end does not answer the answer");
  for (const n of [3, 4, 5]) endpoint.send({ n }, undefined, true);
  await flush();
  assert.deepEqual(writes.slice(3).map((w) => w.message), [
    { n: 3 },
    { cmd: BATCH, msgs: [{ n: 4 }, { n: 5 }] },
  ]);
});

test("IpcEndpoint: a large message, a handle and the close are written after the batch before them", async () => {
  const { endpoint, writes } = batchingPrimary();
  const big = { big: "b".repeat(10_000) };
  for (const message of [{ a: 1 }, { b: 2 }, big, { d: 4 }, { e: 5 }]) {
    endpoint.send(message, undefined, true);
  }
  assert.deepEqual(writes.map((w) => w.message), [{ a: 1 }, { b: 2 }, big]);
  endpoint.send({ f: 6 }, { fd: 7 }, true);
  assert.deepEqual(writes.slice(3).map((w) => [w.message, w.handle]), [
    [{ cmd: BATCH, msgs: [{ d: 4 }, { e: 5 }] }, undefined],
    [{ f: 6 }, { fd: 7 }],
  ]);
  await flush();
  endpoint.send({ g: 7 }, undefined, true);
  endpoint.send({ h: 8 }, undefined, true);
  endpoint.close();
  assert.deepEqual(writes.slice(5).map((w) => w.message), [
    { g: 7 },
    { h: 8 },
    { cmd: "NODE_XCLUSTER_CLOSING" },
  ]);
});

test("IpcEndpoint: a full batch is written at once, in order", async () => {
  const { endpoint, writes } = batchingPrimary();
  const count = 2 * BATCH_MESSAGES + 3;
  for (let n = 0; n < count; n++) endpoint.send(n, undefined, true);
  await flush();
  const written = writes.flatMap((w) => {
    const m = w.message as { cmd?: string; msgs?: number[] };
    return m?.cmd === BATCH ? m.msgs! : [m as unknown as number];
  });
  assert.deepEqual(written, Array.from({ length: count }, (_, n) => n));
  assert.ok(
    writes.every((w) => ((w.message as { msgs?: unknown[] }).msgs?.length ?? 1) <= BATCH_MESSAGES),
  );
  assert.equal(writes.length, 4);
});

test("IpcEndpoint: a batch that arrives is emitted message by message, as each came alone", () => {
  const { target, emit } = fakeTarget();
  const ours: unknown[] = [];
  new IpcEndpoint(target, "node", "json", { message: (m) => ours.push(m), fault() {} });
  const theirs: unknown[] = [];
  const internal: unknown[] = [];
  target.on("message", (m) => theirs.push(m));
  target.on("internalMessage", (m) => internal.push(m));
  const batch = { cmd: BATCH, msgs: [{ a: 1 }, { cmd: "NODE_OTHER" }, "b"] };
  emit("internalMessage", batch);
  assert.deepEqual(ours, [{ a: 1 }, "b"]);
  assert.deepEqual(theirs, [{ a: 1 }, "b"]);
  // The endpoint's listener came first: it emitted the inner one before the test's saw the batch.
  assert.deepEqual(internal, [{ cmd: "NODE_OTHER" }, batch]);
});

test("IpcEndpoint (Deno): a handle after the batches announcement waits until the peer read it", async () => {
  // Deno 2.9 attaches a handle's descriptor to an unread message before it (adapters/_ipc.ts):
  // the announcement and its answer are such messages, so the handle waits for a sync.
  for (const announce of [false, true]) {
    const { target, writes, emit } = fakeTarget();
    const endpoint = new IpcEndpoint(target, "deno", "json", { ...noEvents, announce });
    emit("internalMessage", BATCHES);
    const sent = endpoint.send({ reply: 1 }, { fd: 3 }, true);
    await flush();
    const last = writes.at(-1)!;
    assert.equal(
      (last.message as { cmd?: string }).cmd,
      "NODE_XCLUSTER_SYNC",
      `announce ${announce}`,
    );
    assert.equal(last.handle, undefined);
    emit("internalMessage", {
      cmd: "NODE_XCLUSTER_SYNC_ACK",
      id: (last.message as { id: number }).id,
    });
    await sent;
    assert.deepEqual([writes.at(-1)!.message, writes.at(-1)!.handle], [{ reply: 1 }, { fd: 3 }]);
  }
});

test("a channel closed before the endpoint connects: nothing is written, and nothing hangs", async () => {
  // A worker that disconnects in its first turn: its package's end connects a turn later.
  const fake = fakeTarget();
  fake.target.connected = false;
  const endpoint = new IpcEndpoint(fake.target, "deno", "json", { ...noEvents, announce: true });
  assert.deepEqual(fake.writes, [], "no announce on a closed channel (an `error` event otherwise)");
  await assert.rejects(endpoint.send({ n: 1 }, undefined, false), { code: "CHANNEL_CLOSED" });
  await assert.rejects(endpoint.send({ n: 2 }, { fd: 3 }, false), { code: "CHANNEL_CLOSED" });
});

test("Deno: a handle that waits for the peer's sync rejects if the channel closed meanwhile", async () => {
  const fake = fakeTarget();
  const endpoint = new IpcEndpoint(fake.target, "deno", "json", noEvents);
  await endpoint.send({ plain: true }, undefined, false); // unread by the peer: a handle waits
  fake.target.connected = false; // closed, and the runtime has not said so yet
  await assert.rejects(endpoint.send({ n: 1 }, { fd: 3 }, false), { code: "CHANNEL_CLOSED" });
  // The sends queued behind it are not held for ever either.
  await assert.rejects(endpoint.send({ n: 2 }, undefined, false), { code: "CHANNEL_CLOSED" });
  await flush();
});
