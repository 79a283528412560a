// Unit tests for src/_channel.ts (request/reply over one IPC channel), src/emitter.ts and the
// lost-handle answer of adapters/_ipc.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { IpcEndpoint } from "../adapters/_ipc.ts";
import { Channel, PROBE_MS } from "../src/_channel.ts";
import { Emitter } from "../src/emitter.ts";
import { ClusterError } from "../src/errors.ts";
import { decodeAtWorker, ENVELOPE_KEY, type InternalMessage } from "../src/protocol.ts";
import { fakeTarget } from "./_fake_ipc_target.ts";
import { flush, settles, track } from "./_promises.ts";

interface Sent {
  message: Record<string, unknown>;
  handle: unknown;
  keepOpen: boolean;
}

/** A fake raw send that records every call and answers with `answer` (default: resolves). */
function fakeSend(answer: (sent: Sent) => Promise<void> = () => Promise.resolve()) {
  const sent: Sent[] = [];
  const send = (message: unknown, handle: unknown, keepOpen: boolean): Promise<void> => {
    const entry = { message: message as Record<string, unknown>, handle, keepOpen };
    sent.push(entry);
    return answer(entry);
  };
  return { sent, send };
}

/** The `seq` of the internal message in a sent envelope. */
function seqOf(sent: Sent): number {
  return (sent.message.i as { seq: number }).seq;
}

const newconn = (key: string) => (seq: number): InternalMessage => ({ cmd: "newconn", seq, key });
const lend = (key: string) => (seq: number): InternalMessage => ({ cmd: "lend", seq, key });

function assertChannelClosed(error: unknown): true {
  assert.ok(error instanceof ClusterError, `expected a ClusterError, got ${error}`);
  assert.equal(error.code, "CHANNEL_CLOSED");
  return true;
}

// --- seq / settle ---------------------------------------------------------------------------

test("Channel.request() numbers requests from 1, independently per channel", async () => {
  const a = fakeSend(), b = fakeSend();
  const ca = new Channel("token-a", a.send), cb = new Channel("token-b", b.send);
  const pa = [ca.request(newconn("k")), ca.request(newconn("k")), ca.request(newconn("k"))];
  const pb = [cb.request(newconn("k")), cb.request(newconn("k"))];
  assert.deepEqual(a.sent.map(seqOf), [1, 2, 3]);
  assert.deepEqual(b.sent.map(seqOf), [1, 2]);
  assert.equal(ca.pending, 3);
  assert.equal(cb.pending, 2);
  assert.ok(a.sent.every((s) => s.message[ENVELOPE_KEY] === "token-a"));
  assert.ok(b.sent.every((s) => s.message[ENVELOPE_KEY] === "token-b"));
  for (let i = 1; i <= 3; i++) assert.equal(ca.settle(i, `a${i}`, undefined), true);
  for (let i = 1; i <= 2; i++) assert.equal(cb.settle(i, `b${i}`, undefined), true);
  assert.deepEqual((await settles(Promise.all(pa))).map((r) => r.reply), ["a1", "a2", "a3"]);
  assert.deepEqual((await settles(Promise.all(pb))).map((r) => r.reply), ["b1", "b2"]);
});

test("Channel.request() passes the seq to build and sends the built message in an envelope", () => {
  const { sent, send } = fakeSend();
  const channel = new Channel("tok", send);
  const seen: number[] = [];
  channel.request((seq) => {
    seen.push(seq);
    return { cmd: "lend", seq, key: "shared||80" };
  }).catch(() => {});
  assert.deepEqual(seen, [1]);
  assert.deepEqual(decodeAtWorker(sent[0].message, "tok"), {
    kind: "internal",
    message: { cmd: "lend", seq: 1, key: "shared||80" },
  });
  channel.close();
});

test("Channel.settle() resolves the request whose seq matches the ack, in any order", async () => {
  const { send } = fakeSend();
  const channel = new Channel("tok", send);
  const first = track(channel.request(lend("k")));
  const second = track(channel.request(lend("k")));
  const handle = { fd: 3 };
  assert.equal(channel.settle(2, { cmd: "reply", ack: 2, accepted: true }, handle), true);
  await flush();
  assert.equal(first.settled, false);
  assert.equal(second.settled, true);
  assert.deepEqual(second.value, { reply: { cmd: "reply", ack: 2, accepted: true }, handle });
  assert.equal((second.value as { handle: unknown }).handle, handle);
  assert.equal(channel.pending, 1);
  assert.equal(channel.settle(1, "one", undefined), true);
  await flush();
  assert.deepEqual(first.value, { reply: "one", handle: undefined });
  assert.equal(channel.pending, 0);
});

test("Channel.settle() returns false for an unknown ack and for one already settled", async () => {
  const { send } = fakeSend();
  const channel = new Channel("tok", send);
  assert.equal(channel.settle(1, "nobody asked", undefined), false);
  const request = channel.request(newconn("k"));
  assert.equal(channel.settle(0, "x", undefined), false);
  assert.equal(channel.settle(2, "x", undefined), false);
  assert.equal(channel.pending, 1);
  assert.equal(channel.settle(1, "yes", undefined), true);
  assert.equal(channel.settle(1, "again", undefined), false);
  assert.deepEqual(await settles(request), { reply: "yes", handle: undefined });
});

test("Channel.settle() on one channel does not settle another channel's request with the same seq", async () => {
  const ca = new Channel("a", fakeSend().send), cb = new Channel("b", fakeSend().send);
  const ra = track(ca.request(newconn("k")));
  const rb = track(cb.request(newconn("k")));
  assert.equal(ca.settle(1, "for a", undefined), true);
  await flush();
  assert.deepEqual(ra.value, { reply: "for a", handle: undefined });
  assert.equal(rb.settled, false);
  assert.equal(cb.pending, 1);
  cb.close();
  await flush();
  assertChannelClosed(rb.error);
});

test("Channel.request() settles when the reply arrives before the send resolved", async () => {
  let written!: () => void;
  const { send } = fakeSend(() => new Promise<void>((resolve) => (written = resolve)));
  const channel = new Channel("tok", send);
  const request = channel.request(newconn("k"));
  assert.equal(channel.settle(1, "early", undefined), true);
  written();
  assert.deepEqual(await settles(request), { reply: "early", handle: undefined });
});

// --- close ----------------------------------------------------------------------------------

test("Channel.close() rejects every pending request with ClusterError CHANNEL_CLOSED", async () => {
  const { send } = fakeSend();
  const channel = new Channel("tok", send);
  const requests = [
    channel.request(newconn("a")),
    channel.request(newconn("b")),
    channel.request(newconn("c")),
  ];
  channel.close("worker 1 died");
  assert.equal(channel.pending, 0);
  for (const request of requests) {
    await assert.rejects(settles(request), (error) => {
      assertChannelClosed(error);
      assert.match((error as Error).message, /worker 1 died/);
      return true;
    });
  }
  assert.equal(channel.settle(1, "late", undefined), false);
});

test("Channel sends after close() reject with CHANNEL_CLOSED and write nothing", async () => {
  const { sent, send } = fakeSend();
  const channel = new Channel("tok", send);
  channel.close();
  await assert.rejects(settles(channel.sendUser("hi")), assertChannelClosed);
  await assert.rejects(settles(channel.sendInternal({ cmd: "disconnect" })), assertChannelClosed);
  let built = false;
  await assert.rejects(
    settles(channel.request((seq) => {
      built = true;
      return { cmd: "lend", seq, key: "k" };
    })),
    assertChannelClosed,
  );
  assert.equal(built, false);
  assert.equal(sent.length, 0);
  assert.equal(channel.pending, 0);
});

test("Channel.close() is idempotent and keeps the first reason", async () => {
  const channel = new Channel("tok", fakeSend().send);
  const request = channel.request(newconn("k"));
  channel.close("first reason");
  channel.close("second reason");
  await assert.rejects(settles(request), /first reason/);
  await assert.rejects(settles(channel.sendUser(1)), /first reason/);
});

// --- send failures --------------------------------------------------------------------------

test("Channel.request() rejects with the send error when the send fails, leaving nothing pending", async () => {
  const failure = new Error("EPIPE");
  const { send } = fakeSend(() => Promise.reject(failure));
  const channel = new Channel("tok", send);
  await assert.rejects(settles(channel.request(newconn("k"))), (error) => error === failure);
  assert.equal(channel.pending, 0);
  assert.equal(channel.settle(1, "late", undefined), false);
  // The next request still gets the next seq.
  const next = fakeSend();
  const other = new Channel("tok", next.send);
  other.request(newconn("k")).catch(() => {});
  assert.equal(seqOf(next.sent[0]), 1);
  other.close();
});

test("Channel.request() that already settled is not changed by a later send failure", async () => {
  let fail!: (error: Error) => void;
  const { send } = fakeSend(() => new Promise<void>((_, reject) => (fail = reject)));
  const channel = new Channel("tok", send);
  const request = channel.request(newconn("k"));
  channel.settle(1, "done", undefined);
  fail(new Error("late EPIPE"));
  assert.deepEqual(await settles(request), { reply: "done", handle: undefined });
});

test("Channel.sendUser()/sendInternal() reject with the send error", async () => {
  const failure = new Error("channel broke");
  const { send } = fakeSend(() => Promise.reject(failure));
  const channel = new Channel("tok", send);
  await assert.rejects(settles(channel.sendUser({ a: 1 })), (error) => error === failure);
  await assert.rejects(
    settles(channel.sendInternal({ cmd: "disconnect" })),
    (error) => error === failure,
  );
});

test("Channel request failures on one request do not affect the others", async () => {
  let call = 0;
  const { send } = fakeSend(
    () => (++call === 2 ? Promise.reject(new Error("second fails")) : Promise.resolve()),
  );
  const channel = new Channel("tok", send);
  const r1 = channel.request(lend("k"));
  const r2 = channel.request(lend("k"));
  const r3 = channel.request(lend("k"));
  await assert.rejects(settles(r2), /second fails/);
  assert.equal(channel.pending, 2);
  channel.settle(3, "three", undefined);
  channel.settle(1, "one", undefined);
  assert.equal((await settles(r1)).reply, "one");
  assert.equal((await settles(r3)).reply, "three");
});

test("Channel: an answer to a handoff rejects the earlier handoffs still unanswered (lost)", async () => {
  const { send } = fakeSend();
  const channel = new Channel("tok", send);
  const lost = track(channel.request(newconn("k")));
  const asked = track(channel.request(lend("k")));
  const answered = track(channel.request(newconn("k")));
  assert.equal(channel.settle(3, { cmd: "reply", ack: 3, accepted: true }, undefined), true);
  await flush();
  assert.match(String(lost.error), /Handoff 1 was lost/);
  assert.equal(asked.settled, false, "a lend is answered when its worker gets to it");
  assert.equal(answered.settled, true);
  assert.equal(channel.settle(1, "late", undefined), false);
  channel.close();
});

test("Channel: a handoff unanswered for PROBE_MS gets a socketless newconn behind it", async () => {
  const { sent, send } = fakeSend();
  const channel = new Channel("tok", send);
  const lost = track(channel.request(newconn("k"), { fd: 9 }));
  await new Promise((resolve) => setTimeout(resolve, PROBE_MS + 200));
  assert.equal(sent.length, 2);
  const probe = (sent[1].message as { i: { cmd: string; seq: number; key: string } }).i;
  assert.deepEqual(probe, { cmd: "newconn", seq: 2, key: "k" });
  assert.equal(sent[1].handle, undefined);
  // The worker refuses the probe at once: the handoff before it never arrived.
  channel.settle(2, { cmd: "reply", ack: 2, accepted: false }, undefined);
  await flush();
  assert.match(String(lost.error), /Handoff 1 was lost/);
  assert.equal(channel.pending, 0);
});

test("Channel: one probe timer at most while a slow worker keeps handoffs waiting", async () => {
  // Counts the channel's timers alive at once (review R6: each probe started a second timer
  // chain). Only timers made inside the channel's calls count (the test runner has its own).
  const live = new Set<unknown>();
  let inside = false;
  const realSet = globalThis.setTimeout, realClear = globalThis.clearTimeout;
  const within = <T>(fn: () => T): T => {
    const was = inside;
    inside = true;
    try {
      return fn();
    } finally {
      inside = was;
    }
  };
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    if (!inside) return realSet(fn, ms);
    const timer = realSet(() => {
      live.delete(timer);
      within(fn);
    }, ms);
    live.add(timer);
    return timer;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((timer: ReturnType<typeof setTimeout>) => {
    live.delete(timer);
    realClear(timer);
  }) as typeof clearTimeout;
  const at = new Map<Sent, number>();
  const { sent, send } = fakeSend((entry) => (at.set(entry, performance.now()), Promise.resolve()));
  const channel = new Channel("tok", send);
  try {
    let most = 0;
    // A slow worker: a new handoff every 200 ms, each answered (with any probe) 1.2 s later.
    for (let step = 0; step < 15; step++) {
      within(() => track(channel.request(newconn("k"), { fd: step })));
      await new Promise((resolve) => realSet(resolve, 200));
      const late = sent.filter((s) => at.get(s)! <= performance.now() - 1200);
      for (const s of late) {
        // A probe carries no socket: the worker refuses it.
        const accepted = s.handle !== undefined;
        within(() =>
          channel.settle(seqOf(s), { cmd: "reply", ack: seqOf(s), accepted }, undefined)
        );
        sent.splice(sent.indexOf(s), 1);
      }
      most = Math.max(most, live.size);
    }
    assert.ok(most <= 1, `${most} probe timers were alive at once`);
  } finally {
    channel.close();
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  }
});

// --- keepOpen and envelopes -----------------------------------------------------------------

test("Channel passes keepOpen false for sendUser and true for request/sendInternal", async () => {
  const { sent, send } = fakeSend();
  const channel = new Channel("tok", send);
  const socket = { socket: 1 }, listen = { listen: 1 }, conn = { conn: 1 };
  await settles(channel.sendUser("data", socket));
  await settles(channel.sendInternal({ cmd: "reply", ack: 1, accepted: true }, listen));
  channel.request(newconn("k"), conn).catch(() => {});
  assert.deepEqual(sent.map((s) => s.keepOpen), [false, true, true]);
  assert.equal(sent[0].handle, socket);
  assert.equal(sent[1].handle, listen);
  assert.equal(sent[2].handle, conn);
  channel.close();
});

test("Channel.sendUser() sends plain data as it is; the other side decodes it as user data", async () => {
  const { sent, send } = fakeSend();
  const channel = new Channel("secret", send);
  const values = ["text", 42, null, [1, 2], { a: 1, cmd: "mine" }];
  for (const value of values) await settles(channel.sendUser(value));
  assert.deepEqual(sent.map((s) => s.message), values);
  for (const s of sent) assert.equal(decodeAtWorker(s.message, "secret").kind, "user");
});

test("Channel.sendUser() wraps what would decode as ours or as a runtime's internal message", async () => {
  const { sent, send } = fakeSend();
  const channel = new Channel("secret", send);
  const forged = { [ENVELOPE_KEY]: "secret", i: { cmd: "disconnect" } };
  await settles(channel.sendUser(forged));
  const decoded = decodeAtWorker(sent[0].message, "secret");
  assert.deepEqual(decoded, { kind: "user", data: forged });
});

test("Channel.sendUser() wraps data in an envelope the other side decodes as user data", async () => {
  const { sent, send } = fakeSend();
  const channel = new Channel("secret", send);
  const data = { cmd: "NODE_CLUSTER", act: "online" };
  await settles(channel.sendUser(data));
  assert.equal(sent[0].handle, undefined);
  const decoded = decodeAtWorker(sent[0].message, "secret");
  assert.equal(decoded.kind, "user");
  assert.equal((decoded as { data: unknown }).data, data);
  assert.equal(decodeAtWorker(sent[0].message, "other").kind, "invalid");
});

test("Channel.sendInternal() wraps the message in an envelope the other side decodes", async () => {
  const { sent, send } = fakeSend();
  const channel = new Channel("secret", send);
  await settles(channel.sendInternal({ cmd: "disconnect" }));
  assert.deepEqual(decodeAtWorker(sent[0].message, "secret"), {
    kind: "internal",
    message: { cmd: "disconnect" },
  });
  assert.equal(channel.pending, 0);
});

// --- Emitter --------------------------------------------------------------------------------

/** Runs `fn` with console.error captured; returns what was reported. */
function captureConsoleError(fn: () => void): unknown[][] {
  const original = console.error;
  const reported: unknown[][] = [];
  console.error = (...args: unknown[]) => void reported.push(args);
  try {
    fn();
  } finally {
    console.error = original;
  }
  return reported;
}

type Events = { tick: [n: number]; error: [error: Error]; other: [] };

test("Emitter.emit() calls listeners in order with the arguments and returns true", () => {
  const events = new Emitter<Events>();
  const calls: string[] = [];
  events.on("tick", (n) => calls.push(`a${n}`)).on("tick", (n) => calls.push(`b${n}`));
  assert.equal(events.emit("tick", 7), true);
  assert.deepEqual(calls, ["a7", "b7"]);
  assert.equal(events.emit("other"), false);
  assert.equal(events.listenerCount("tick"), 2);
});

test("Emitter: a throwing listener does not stop the others and does not throw out of emit()", () => {
  const events = new Emitter<Events>();
  const calls: number[] = [];
  const boom = new Error("listener bug");
  events.on("tick", (n) => calls.push(n));
  events.on("tick", () => {
    throw boom;
  });
  events.on("tick", (n) => calls.push(n * 10));
  let result: boolean | undefined;
  const reported = captureConsoleError(() => {
    assert.doesNotThrow(() => (result = events.emit("tick", 2)));
  });
  assert.equal(result, true);
  assert.deepEqual(calls, [2, 20]);
  assert.equal(reported.length, 1);
  assert.ok(reported[0].includes(boom), "the thrown error is reported");
});

test('Emitter: "error" with no listener does not throw and is reported', () => {
  const events = new Emitter<Events>();
  const error = new Error("worker broke");
  let result: boolean | undefined;
  const reported = captureConsoleError(() => {
    assert.doesNotThrow(() => (result = events.emit("error", error)));
  });
  assert.equal(result, false);
  assert.equal(reported.length, 1);
  assert.ok(reported[0].includes(error));
});

test('Emitter: "error" with a listener goes to the listener and is not reported', () => {
  const events = new Emitter<Events>();
  const seen: Error[] = [];
  events.on("error", (e) => seen.push(e));
  const error = new Error("handled");
  const reported = captureConsoleError(() => assert.equal(events.emit("error", error), true));
  assert.deepEqual(seen, [error]);
  assert.equal(reported.length, 0);
});

test("Emitter.once() fires once", () => {
  const events = new Emitter<Events>();
  const calls: number[] = [];
  events.once("tick", (n) => calls.push(n));
  assert.equal(events.listenerCount("tick"), 1);
  events.emit("tick", 1);
  events.emit("tick", 2);
  assert.deepEqual(calls, [1]);
  assert.equal(events.listenerCount("tick"), 0);
});

test("Emitter.once() fires once even when the listener emits the same event again", () => {
  const events = new Emitter<Events>();
  const calls: number[] = [];
  events.once("tick", (n) => {
    calls.push(n);
    events.emit("tick", n + 1);
  });
  events.emit("tick", 1);
  assert.deepEqual(calls, [1]);
});

test("Emitter.once() listener that throws is still removed", () => {
  const events = new Emitter<Events>();
  let calls = 0;
  events.once("tick", () => {
    calls++;
    throw new Error("once bug");
  });
  captureConsoleError(() => {
    events.emit("tick", 1);
    events.emit("tick", 2);
  });
  assert.equal(calls, 1);
});

test("Emitter.off() removes a listener; removing an unknown one is a no-op", () => {
  const events = new Emitter<Events>();
  const calls: number[] = [];
  const listener = (n: number) => calls.push(n);
  events.on("tick", listener);
  events.off("tick", () => {});
  events.off("other", () => {});
  events.emit("tick", 1);
  events.off("tick", listener);
  assert.equal(events.emit("tick", 2), false);
  assert.deepEqual(calls, [1]);
  assert.equal(events.listenerCount("tick"), 0);
});

test("Emitter.off() removes a listener added with once() (as node:events does)", () => {
  const events = new Emitter<Events>();
  const calls: number[] = [];
  const listener = (n: number) => calls.push(n);
  events.once("tick", listener);
  events.off("tick", listener);
  events.emit("tick", 1);
  assert.deepEqual(calls, []);
  assert.equal(events.listenerCount("tick"), 0);
});

test("Emitter: listeners added during emit() run from the next emit() on", () => {
  const events = new Emitter<Events>();
  const calls: string[] = [];
  events.on("tick", () => {
    calls.push("first");
    events.on("tick", () => calls.push("added"));
  });
  events.emit("tick", 1);
  assert.deepEqual(calls, ["first"]);
  events.emit("tick", 2);
  assert.deepEqual(calls, ["first", "first", "added"]);
});

// --- IpcEndpoint (adapters/_ipc.ts): a handle message whose descriptor was lost -------------

test("IpcEndpoint (Deno): a handle message that lost its descriptor is acknowledged; ours goes on without it", () => {
  const { target, writes, emit } = fakeTarget();
  const messages: [unknown, unknown][] = [];
  new IpcEndpoint(target, "deno", "json", {
    message: (message, handle) => messages.push([message, handle]),
    fault: () => assert.fail("no fault"),
  });
  const ours = { [ENVELOPE_KEY]: "t", i: { cmd: "newconn", seq: 3, key: "k" } };
  // What Deno 2.9 emits when the descriptor could not be received (EMFILE): no handle.
  emit("internalMessage", { cmd: "NODE_HANDLE", type: "net.Socket", msg: ours }, undefined);
  assert.deepEqual(writes.map((w) => w.message), [{ cmd: "NODE_HANDLE_ACK" }]);
  assert.deepEqual(messages, [[ours, undefined]]);
  // A user's message that lost its handle is dropped (as Node drops it after its retries).
  emit("internalMessage", { cmd: "NODE_HANDLE", type: "net.Socket", msg: { hello: 1 } }, undefined);
  assert.equal(writes.length, 2);
  assert.equal(messages.length, 1);
  // One that arrived with its handle is the runtime's to acknowledge.
  emit("internalMessage", { cmd: "NODE_HANDLE", type: "net.Socket", msg: ours }, {});
  assert.equal(writes.length, 2);
});

test("IpcEndpoint (Node, Bun): their runtime answers a lost descriptor itself; the endpoint writes nothing", () => {
  for (const runtime of ["node", "bun"]) {
    const { target, writes, emit } = fakeTarget();
    new IpcEndpoint(target, runtime, "json", { message: () => {}, fault: () => {} });
    emit("internalMessage", { cmd: "NODE_HANDLE", msg: { [ENVELOPE_KEY]: "t", i: {} } }, undefined);
    assert.deepEqual(writes, []);
  }
});

test("Emitter: a listener removed during emit() still runs in that emit(), and none is skipped", () => {
  const events = new Emitter<Events>();
  const calls: string[] = [];
  const b = () => calls.push("b");
  events.once("tick", () => calls.push("once"));
  events.on("tick", () => {
    calls.push("a");
    events.off("tick", b);
  });
  events.on("tick", b);
  events.on("tick", () => calls.push("c"));
  events.emit("tick", 1);
  // The once() listener removed itself first: a list changed in place would skip "a".
  assert.deepEqual(calls, ["once", "a", "b", "c"]);
  events.emit("tick", 2);
  assert.deepEqual(calls, ["once", "a", "b", "c", "a", "c"]);
  assert.equal(events.listenerCount("tick"), 2);
});
