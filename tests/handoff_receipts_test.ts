// Round-robin handoffs settled by the runtime's receipt of the handle (`handoffReceipts`, Node):
// the endpoint reports NODE_HANDLE_ACK/NACK in send order (adapters/_ipc.ts), the channel
// settles a `newconn` with `receipt` by it (src/_channel.ts), the messages parse
// (src/protocol.ts), and a connection a worker hands back (`returned`) is routed again to a
// worker that has not refused it (src/round_robin_handle.ts). No processes: fakes throughout;
// tests/max_connections_test.ts runs the hand-back with real workers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { IpcEndpoint } from "../adapters/_ipc.ts";
import { Channel } from "../src/_channel.ts";
import {
  decodeAtPrimary,
  decodeAtWorker,
  encodeInternal,
  encodeUser,
  ENVELOPE_KEY,
} from "../src/protocol.ts";
import { type HandoffTarget, RoundRobinHandle } from "../src/round_robin_handle.ts";
import type { HandleReceipt } from "../src/types.ts";
import { fakeTarget } from "./_fake_ipc_target.ts";
import { FakeListener } from "./_fake_listener.ts";
import { flush } from "./_promises.ts";

/** A receipt that records what happened to it. */
function recorder(name: string, log: string[]): HandleReceipt {
  return {
    delivered: () => log.push(`${name} delivered`),
    lost: (error) => log.push(`${name} lost: ${error.message}`),
  };
}

const noEvents = { message() {}, fault() {} };

test("IpcEndpoint (Node): acknowledgements settle the handles' receipts in send order", async () => {
  const { target, writes, emit } = fakeTarget();
  const endpoint = new IpcEndpoint(target, "node", "json", noEvents);
  const log: string[] = [];
  await endpoint.send({ n: 1 }, { fd: 1 }, true, recorder("a", log));
  await endpoint.send({ n: 2 }, { fd: 2 }, true); // a handle of another kind: no receipt
  await endpoint.send({ n: 3 }, { fd: 3 }, true, recorder("c", log));
  assert.equal(writes.length, 3);
  assert.deepEqual(log, []);
  emit("internalMessage", { cmd: "NODE_HANDLE_ACK" });
  assert.deepEqual(log, ["a delivered"]);
  emit("internalMessage", { cmd: "NODE_HANDLE_ACK" }); // the second handle's
  emit("internalMessage", { cmd: "NODE_HANDLE_ACK" });
  assert.deepEqual(log, ["a delivered", "c delivered"]);
  emit("internalMessage", { cmd: "NODE_HANDLE_ACK" }); // nothing left: ignored
  assert.deepEqual(log, ["a delivered", "c delivered"]);
});

test("IpcEndpoint (Node): a NACK loses a kept-open handle at once, another after Node's retries", async () => {
  const { target, emit } = fakeTarget();
  const endpoint = new IpcEndpoint(target, "node", "json", noEvents);
  const log: string[] = [];
  await endpoint.send({ n: 1 }, { fd: 1 }, true, recorder("kept", log));
  emit("internalMessage", { cmd: "NODE_HANDLE_NACK" });
  assert.match(log.join(), /^kept lost: /);
  // Without keepOpen Node retransmits three times; the fourth NACK gives it up.
  endpoint.send({ n: 2 }, { fd: 2 }, false);
  await endpoint.send({ n: 3 }, { fd: 3 }, true, recorder("next", log));
  for (let i = 0; i < 4; i++) emit("internalMessage", { cmd: "NODE_HANDLE_NACK" });
  emit("internalMessage", { cmd: "NODE_HANDLE_ACK" });
  assert.deepEqual(log.slice(1), ["next delivered"]);
});

test("IpcEndpoint (Node): a closed channel forgets unacknowledged handles", async () => {
  const { target, emit } = fakeTarget();
  const endpoint = new IpcEndpoint(target, "node", "json", noEvents);
  const log: string[] = [];
  await endpoint.send({ n: 1 }, { fd: 1 }, true, recorder("a", log));
  emit("disconnect");
  emit("internalMessage", { cmd: "NODE_HANDLE_ACK" });
  assert.deepEqual(log, [], "the channel's close fails the handoff, not a stale ACK");
});

test("IpcEndpoint (Deno, Bun): no receipts are tracked", async () => {
  for (const runtime of ["deno", "bun"]) {
    const { target, emit } = fakeTarget();
    const endpoint = new IpcEndpoint(target, runtime, "json", noEvents);
    const log: string[] = [];
    endpoint.send({ n: 1 }, { fd: 1 }, true, recorder("a", log)).catch(() => {});
    await flush();
    emit("internalMessage", { cmd: "NODE_HANDLE_ACK" });
    assert.deepEqual(log, [], runtime);
  }
});

/** A Channel whose raw sends are recorded with their receipts. */
function channel() {
  const sent: { message: Record<string, unknown>; receipt?: HandleReceipt }[] = [];
  const ch = new Channel("token", (message, _handle, _keepOpen, receipt) => {
    sent.push({ message: message as Record<string, unknown>, receipt });
    return Promise.resolve();
  });
  return { ch, sent };
}

test("Channel.handoff() with receipt: the newconn says so and its receipt settles it as taken", async () => {
  const { ch, sent } = channel();
  const answers: unknown[] = [];
  ch.handoff("k", undefined, { fd: 1 }, (error, reply) => answers.push(error ?? reply), true);
  ch.handoff("k", undefined, { fd: 2 }, (error, reply) => answers.push(error ?? reply), true, [4]);
  assert.deepEqual(sent.map((s) => s.message.i), [
    { cmd: "newconn", seq: 1, key: "k", receipt: true },
    { cmd: "newconn", seq: 2, key: "k", receipt: true, tried: [4] },
  ]);
  sent[0].receipt!.delivered();
  sent[1].receipt!.lost(new Error("no descriptor"));
  await flush();
  assert.deepEqual(answers[0], { cmd: "reply", accepted: true });
  assert.match((answers[1] as Error).message, /no descriptor/);
  assert.equal(ch.pending, 0);
});

test("Channel.handoff() with head bytes or without receipt asks for the worker's answer", () => {
  const { ch, sent } = channel();
  ch.handoff("k", "aGk=", { fd: 1 }, () => {}, true);
  ch.handoff("k", undefined, { fd: 2 }, () => {}, false);
  assert.deepEqual(sent.map((s) => s.message.i), [
    { cmd: "newconn", seq: 1, key: "k", head: "aGk=" },
    { cmd: "newconn", seq: 2, key: "k" },
  ]);
  assert.deepEqual(sent.map((s) => s.receipt), [undefined, undefined]);
});

test("protocol: newconn with receipt and tried, and returned, decode; bad ones are refused", () => {
  const worker = (i: unknown) => decodeAtWorker({ "@x/cluster": "t", i }, "t");
  const primary = (i: unknown) => decodeAtPrimary({ "@x/cluster": "t", i }, "t");
  const ok = { cmd: "newconn", seq: 3, key: "k", receipt: true, tried: [1, 2] };
  assert.deepEqual(worker(ok), { kind: "internal", message: ok });
  assert.deepEqual(primary({ cmd: "returned", key: "k", tried: [1] }), {
    kind: "internal",
    message: { cmd: "returned", key: "k", tried: [1] },
  });
  assert.deepEqual(primary({ cmd: "returned", key: "k" }), {
    kind: "internal",
    message: { cmd: "returned", key: "k" },
  });
  for (
    const bad of [
      { ...ok, receipt: 1 },
      { ...ok, head: "aGk=" },
      { ...ok, tried: [0] },
      { ...ok, tried: "1" },
      { ...ok, tried: Array.from({ length: 65 }, (_, i) => i + 1) },
    ]
  ) assert.equal(worker(bad).kind, "invalid", JSON.stringify(bad));
  for (const bad of [{ cmd: "returned" }, { cmd: "returned", key: "k", tried: [-1] }]) {
    assert.equal(primary(bad).kind, "invalid", JSON.stringify(bad));
  }
  // encodeUser/encodeInternal spell the key as a literal (faster than a computed key).
  assert.deepEqual(Object.keys(encodeInternal("t", { cmd: "online" })), [ENVELOPE_KEY, "i"]);
  assert.deepEqual(Object.keys(encodeUser("t", 1)), [ENVELOPE_KEY, "u"]);
});

/** A worker that takes every handoff (as a receipt would say) and records `tried`. */
class ReceivingTarget implements HandoffTarget {
  readonly id: number;
  got: { connection: unknown; tried: number[] | undefined }[] = [];
  constructor(id: number) {
    this.id = id;
  }
  handoff(): Promise<boolean> {
    throw new Error("pass() is used");
  }
  pass(
    _key: string,
    connection: unknown,
    _head: Uint8Array | undefined,
    done: (accepted: boolean) => void,
    tried?: ReadonlySet<number>,
  ): void {
    this.got.push({ connection, tried: tried && [...tried] });
    queueMicrotask(() => done(true));
  }
}

test("RoundRobinHandle.returned(): a handed-back connection goes to a worker that has not refused it", async () => {
  const rr = new RoundRobinHandle("k", { maxInFlight: 4, maxQueue: 16 });
  const listener = new FakeListener();
  rr.listener = listener;
  const [a, b, c] = [new ReceivingTarget(1), new ReceivingTarget(2), new ReceivingTarget(3)];
  rr.add(a);
  rr.add(b);
  rr.add(c);
  rr.returned("conn", [1]);
  await flush();
  const first = [a, b, c].flatMap((t) => t.got.map((g) => ({ id: t.id, ...g })));
  assert.equal(first.length, 1);
  assert.notEqual(first[0].id, 1);
  assert.deepEqual(first[0].tried, [1], "the next worker learns who refused it");
  // Refused by as many workers as a refusal allows (3): closed, not handed out again.
  rr.returned("conn2", [1, 2, 3]);
  await flush();
  assert.equal([a, b, c].flatMap((t) => t.got).length, 1);
  assert.equal(rr.dropped, 1);
  assert.ok(listener.released.includes("conn2"));
});
