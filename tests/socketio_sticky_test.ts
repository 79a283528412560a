// A real client nobody here wrote: socket.io-client against Socket.IO 4 servers in 4 workers,
// polling transport only (each packet is an HTTP request that must reach the worker holding
// its session). With `sticky: { query: "sid" }` and the one-line claim every handshake and
// message succeeds; without it Socket.IO answers "Session ID unknown", proving it matters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io, type Socket } from "socket.io-client";
import { type App, withFixture } from "./_helpers.ts";

const CLIENTS = 50, MESSAGES = 5;

interface Outcome {
  connected: boolean;
  acked: number;
  error?: string;
}

async function client(port: number, n: number): Promise<Outcome> {
  const socket: Socket = io(`http://127.0.0.1:${port}`, {
    transports: ["polling"],
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
  });
  const outcome: Outcome = { connected: false, acked: 0 };
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (error) => reject(error));
    });
    outcome.connected = true;
    for (let i = 0; i < MESSAGES; i++) {
      const answer = await socket.timeout(10_000).emitWithAck("msg", `client ${n} message ${i}`);
      if (answer?.echo === `client ${n} message ${i}`) outcome.acked++;
    }
  } catch (error) {
    outcome.error = (error as Error).message;
  } finally {
    socket.disconnect();
  }
  return outcome;
}

async function run(app: App): Promise<{ outcomes: Outcome[]; unknown: number }> {
  await app.waitFor((e) => e.ev === "started", 1, 30_000);
  const port = (await app.waitFor((e) => e.ev === "listening", 4))[0].port as number;
  const outcomes = await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(port, n)));
  const unknown = app.events.filter((e) =>
    e.ev === "worker-message" && e.connectionError === "Session ID unknown"
  ).length;
  return { outcomes, unknown };
}

test("socket.io polling in 4 workers: every handshake and message succeeds with sticky sid + claim", async () => {
  await withFixture("sched_socketio.ts", { SIO_STICKY: "1" }, async (app) => {
    const { outcomes, unknown } = await run(app);
    const failed = outcomes.filter((o) => !o.connected || o.acked !== MESSAGES);
    assert.deepEqual(failed, [], `${failed.length} of ${CLIENTS} clients failed`);
    assert.equal(unknown, 0, "no Session ID unknown");
    const workers = new Set(app.events.filter((e) => e.ev === "listening").map((e) => e.id));
    assert.equal(workers.size, 4);
  });
});

test("socket.io polling in 4 workers without sticky routing gets Session ID unknown", async () => {
  await withFixture("sched_socketio.ts", { SIO_STICKY: "0" }, async (app) => {
    const { outcomes, unknown } = await run(app);
    const ok = outcomes.filter((o) => o.connected && o.acked === MESSAGES).length;
    assert.ok(unknown > 0, "Socket.IO answered Session ID unknown");
    assert.ok(ok < CLIENTS, `${ok} of ${CLIENTS} clients succeeded without stickiness`);
  });
});
