// UDP sockets shared by workers through the primary (Node's SharedHandle for dgram): the core's
// Cluster.worker.bindUdp() and compat's dgram bind() in workers, on real processes
// (tests/fixtures/udp_share.ts); the broker's UNSUPPORTED answer is in udp_broker_test.ts.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { test } from "node:test";
import { freePort, next } from "./_compat_helpers.ts";
import { withFixture } from "./_helpers.ts";

const FIXTURE = "udp_share.ts";

/** Sends `count` datagrams from one socket to `port` and collects the answers. */
async function ask(port: number, count: number): Promise<string[]> {
  const socket = dgram.createSocket("udp4");
  const answers: string[] = [];
  try {
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    const done = new Promise<void>((resolve) =>
      socket.on("message", (m) => {
        answers.push(String(m));
        if (answers.length === count) resolve();
      })
    );
    // UDP may drop: resend the unanswered ones until every one was answered (or 10 s).
    const deadline = Date.now() + 10_000;
    while (answers.length < count && Date.now() < deadline) {
      for (let i = 0; i < count; i++) {
        if (!answers.some((a) => a.endsWith(`:${i}`))) socket.send(String(i), port, "127.0.0.1");
      }
      await Promise.race([done, new Promise((r) => setTimeout(r, 300))]);
    }
    return answers;
  } finally {
    socket.close();
  }
}

test("udp: workers bind one UDP address through the primary and each datagram is answered", async () => {
  const port = await freePort();
  await withFixture(FIXTURE, { SCENARIO: "core", PORT: String(port) }, async (app) => {
    await next(app, (e) => e.ev === "started");
    // Workers print through their own stdout: it may come after the primary's line.
    const bound = await app.waitFor((e) => e.ev === "bound", 2);
    for (const b of bound) assert.deepEqual(b, { ev: "bound", port, instance: true });
    const listening = app.events.filter((e) => e.ev === "listening");
    assert.deepEqual(listening.map((e) => e.port), [port, port]);
    const answers = await ask(port, 20);
    const ids = new Set(answers.map((a) => a.split(":")[0]));
    assert.ok([...ids].every((id) => id === "1" || id === "2"), `answers: ${answers}`);
    const numbers = new Set(answers.map((a) => a.split(":")[1]));
    assert.equal(numbers.size, 20, `every datagram answered: ${answers}`);
  });
});

test("udp: compat shares a worker's bind(0), binds `exclusive: true` alone, closes on disconnect", async () => {
  await withFixture(FIXTURE, { SCENARIO: "compat" }, async (app) => {
    await next(app, (e) => e.ev === "disconnected");
    const ports = app.events.filter((e) => e.ev === "ports");
    assert.equal(ports.length, 2);
    assert.equal(ports[0].shared, ports[1].shared, "port-0 sockets of two workers share a port");
    assert.notEqual(ports[0].alone, ports[1].alone, "exclusive sockets bind their own port");
    assert.notEqual(ports[0].alone, ports[0].shared);
    // A worker whose shared socket stayed open would never exit.
    await app.waitFor((e) => e.ev === "exit", 2);
    for (const e of app.events.filter((x) => x.ev === "exit")) assert.equal(e.code, 0);
    const closed = app.events.filter((e) => e.ev === "closed");
    assert.deepEqual(closed, [{ ev: "closed", closed: true }, { ev: "closed", closed: true }]);
  });
});
