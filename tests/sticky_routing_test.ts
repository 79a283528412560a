// L7 sticky routing with real processes: the primary reads the first request head, routes by a
// header, cookie or query key (claimed by a worker, else hashed), and hands the socket over with
// the bytes it read: keep-alive and pipelined requests reach the same worker, none is lost.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type App, withFixture } from "./_helpers.ts";
import { RawConnection, request, workerFor } from "./_sticky_client.ts";

async function portOf(app: App, workers = 3): Promise<number> {
  await app.waitFor((e) => e.ev === "started");
  return (await app.waitFor((e) => e.ev === "listening", workers))[0].port as number;
}

const sticky = (o: Record<string, unknown>) => ({ STICKY: JSON.stringify(o) });

test("sticky header: every connection of one key reaches one worker; keys spread", async () => {
  await withFixture("sched_sticky.ts", sticky({ header: "x-user", claimWait: 0 }), async (app) => {
    const port = await portOf(app);
    const owners = new Map<string, number>();
    for (let u = 0; u < 30; u++) {
      const user = `user-${u}`;
      const ids = await Promise.all(
        Array.from({ length: 5 }, () => workerFor(port, "/", { "X-User": user })),
      );
      assert.equal(new Set(ids).size, 1, `${user}: ${ids}`);
      owners.set(user, ids[0]);
    }
    assert.ok(new Set(owners.values()).size >= 2, "30 keys over more than one worker");
    // A request without the key goes to the scheduler (least-connections): it is served.
    for (let i = 0; i < 6; i++) assert.ok((await workerFor(port, "/")) > 0);
  });
});

test("sticky cookie: pipelined and keep-alive requests of a connection reach its first request's worker", async () => {
  await withFixture("sched_sticky.ts", sticky({ cookie: "session", claimWait: 0 }), async (app) => {
    const port = await portOf(app);
    for (let s = 0; s < 6; s++) {
      const cookie = `theme=dark; session=s${s}; other=1`;
      const owner = await workerFor(port, "/", { Cookie: cookie });
      const c = new RawConnection(port);
      try {
        // Three pipelined requests in one write (the primary reads them all with the head)...
        c.write(request("/a", { Cookie: cookie }) + request("/b", { Cookie: cookie }) +
          `POST /c HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nContent-Length: 5\r\n\r\nhello`);
        assert.equal((await c.responses(3)).length, 3, c.data);
        // ...then two more on the same keep-alive connection, one of them without the cookie.
        c.write(request("/d", { Cookie: cookie }));
        await c.responses(4);
        c.write(request("/e", { Connection: "close" }));
        const bodies = await c.responses(5);
        assert.deepEqual(bodies, [
          `worker ${owner} GET /a`,
          `worker ${owner} GET /b`,
          `worker ${owner} POST /c hello`,
          `worker ${owner} GET /d`,
          `worker ${owner} GET /e`,
        ]);
      } finally {
        c.close();
      }
    }
  });
});

test("sticky query: a claimed key goes to its claimant; after the claimant dies it is re-hashed", async () => {
  await withFixture("sched_sticky.ts", sticky({ query: "sid" }), async (app) => {
    const port = await portOf(app);
    const claimants = new Map<string, number>();
    for (let k = 0; k < 6; k++) {
      const key = `key${k}`;
      claimants.set(key, await workerFor(port, `/claim?key=${key}`)); // the scheduler's choice
    }
    assert.ok(new Set(claimants.values()).size >= 2, "claims by more than one worker");
    for (const [key, claimant] of claimants) {
      const ids = await Promise.all(
        Array.from({ length: 8 }, () => workerFor(port, `/poll?EIO=4&sid=${key}`)),
      );
      assert.deepEqual(ids, Array(8).fill(claimant), `${key} goes to worker ${claimant}`);
    }
    const [key, victim] = [...claimants][0];
    app.command({ cmd: "kill", id: victim });
    await app.waitFor((e) => e.ev === "exit" && e.id === victim);
    const after = await Promise.all(
      Array.from({ length: 5 }, () => workerFor(port, `/poll?sid=${key}`)),
    );
    assert.equal(new Set(after).size, 1, `re-hashed to one live worker: ${after}`);
    assert.notEqual(after[0], victim);
  });
});

test("sticky: a head over maxHeadSize is answered 431, one too slow 408, with one error each", async () => {
  const env = sticky({ header: "x-user", claimWait: 0, maxHeadSize: 1024, headTimeout: 300 });
  await withFixture("sched_sticky.ts", env, async (app) => {
    const port = await portOf(app);
    const big = new RawConnection(port);
    big.write(request("/", { "X-Pad": "x".repeat(2000) }));
    await big.closed();
    assert.match(big.data, /^HTTP\/1\.1 431 /);
    const [tooLarge] = await app.waitFor((e) => e.ev === "error" && e.code === "HEAD_REJECTED");
    assert.match(tooLarge.message as string, /1 with a request head over 1024 bytes \(431\)/);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the next report may come
    const slow = new RawConnection(port);
    slow.write("GET / HTTP/1.1\r\nHost: x\r\n"); // never finishes its head
    await slow.closed();
    assert.match(slow.data, /^HTTP\/1\.1 408 /);
    const errors = await app.waitFor((e) => e.ev === "error" && e.code === "HEAD_REJECTED", 2);
    assert.match(errors[1].message as string, /1 whose head was not complete in 300 ms \(408\)/);
    // The cluster serves on.
    assert.match(String(await workerFor(port, "/", { "X-User": "a" })), /^\d+$/);
  });
});

test("ip-hash with trustProxy hashes the first X-Forwarded-For address, not the proxy's", async () => {
  const env = { STICKY_SCHEDULER: "ip-hash", STICKY_TRUST_PROXY: "1" };
  await withFixture("sched_sticky.ts", env, async (app) => {
    const port = await portOf(app);
    const owners = new Map<string, number>();
    for (let c = 0; c < 20; c++) {
      const client = `203.0.113.${c + 1}`;
      const ids = await Promise.all(Array.from({ length: 3 }, () =>
        workerFor(port, "/", { "X-Forwarded-For": `${client}, 10.0.0.1` })));
      assert.equal(new Set(ids).size, 1, `${client}: ${ids}`);
      owners.set(client, ids[0]);
    }
    // All 60 connections came from 127.0.0.1 (the "proxy"): plain ip-hash would use one worker.
    assert.ok(new Set(owners.values()).size >= 2, `20 forwarded clients over >1 worker`);
  });
});

test("sticky: bytes sent after the head, while the primary holds the connection, reach the worker", async () => {
  // claimWait 200: the unclaimed key keeps the connection in the primary while the body comes.
  await withFixture("sched_sticky.ts", sticky({ cookie: "session", claimWait: 200 }), async (app) => {
    const port = await portOf(app);
    const head = (length: number) =>
      `POST /c HTTP/1.1\r\nHost: x\r\nCookie: session=late\r\nConnection: close\r\nContent-Length: ${length}\r\n\r\n`;
    const small = new RawConnection(port);
    const big = new RawConnection(port);
    try {
      small.write(head(5));
      await new Promise((resolve) => setTimeout(resolve, 30));
      small.write("hello");
      const body = "x".repeat(1 << 20);
      big.write(head(body.length));
      await new Promise((resolve) => setTimeout(resolve, 30));
      big.write(body);
      assert.match((await small.responses(1))[0] ?? small.data, /^worker \d+ POST \/c hello$/);
      const [answer] = await big.responses(1);
      assert.ok(answer !== undefined, `no answer to the 1 MiB POST: ${big.data.slice(0, 200)}`);
      assert.equal(answer.length - answer.indexOf(" POST /c ") - " POST /c ".length, body.length);
    } finally {
      small.close();
      big.close();
    }
  });
});

test("sticky reads heads on HTTP servers only: a net server that greets first is left alone", async () => {
  const env = { ...sticky({ header: "x-user", headTimeout: 1000 }), STICKY_NET: "1" };
  await withFixture("sched_sticky.ts", env, async (app) => {
    await app.waitFor((e) => e.ev === "started");
    const events = await app.waitFor((e) => e.ev === "listening", 6);
    const httpPort = events[0].port as number;
    const netPort = events.map((e) => e.port as number).find((port) => port !== httpPort)!;
    const greeted = new RawConnection(netPort);
    try {
      await greeted.closed();
      assert.match(greeted.data, /^hello from \d+\n$/, "the server spoke first, unread by the primary");
    } finally {
      greeted.close();
    }
    const ids = await Promise.all(Array.from({ length: 4 }, () => workerFor(httpPort, "/", { "X-User": "u" })));
    assert.equal(new Set(ids).size, 1, `the HTTP server is still sticky: ${ids}`);
  });
});
