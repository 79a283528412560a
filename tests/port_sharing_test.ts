import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { get, occupyPort, runtime, withApp } from "./_helpers.ts";

async function bound(app: Awaited<Parameters<Parameters<typeof withApp>[1]>[0]>, n: number) {
  await app.waitFor((e) => e.ev === "started");
  const msgs = await app.waitFor((e) => e.ev === "message" && "bound" in (e.msg as object), n);
  const ports = new Set(msgs.map((e) => (e.msg as { bound: number }).bound));
  assert.equal(ports.size, 1, "all workers got the same port");
  return [...ports][0];
}

test("round-robin spreads 100 new connections evenly over 2 workers", async () => {
  await withApp({ APP_WORKERS: "2", APP_POLICY: "round-robin" }, async (app) => {
    const port = await bound(app, 2);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 100; i++) {
      const body = await get(port);
      counts[body] = (counts[body] ?? 0) + 1;
    }
    assert.deepEqual(Object.keys(counts).sort(), ["worker 1", "worker 2"]);
    for (const [worker, n] of Object.entries(counts)) {
      assert.ok(n >= 40 && n <= 60, `${worker} got ${n} of 100: ${JSON.stringify(counts)}`);
    }
  });
});

test("round-robin serves a node:http server passed to listen(), with POST bodies", async () => {
  await withApp({ APP_WORKERS: "2", APP_MODE: "listen" }, async (app) => {
    const port = await bound(app, 2);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(await get(port));
    assert.deepEqual([...seen].sort(), ["worker 1", "worker 2"]);
  });
});

test("fetch handler bridge carries method, body and headers", async () => {
  await withApp({ APP_WORKERS: "1" }, async (app) => {
    const port = await bound(app, 1);
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "ping" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-worker"), "1");
    assert.equal(await response.text(), "worker 1 ping");
  });
});

test("reuse-port: every worker binds the same port and serves", async () => {
  await withApp({ APP_WORKERS: "2", APP_POLICY: "reuse-port" }, async (app) => {
    const port = await bound(app, 2);
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 2; i++) seen.add(await get(port));
    assert.deepEqual([...seen].sort(), ["worker 1", "worker 2"]);
  });
});

test("shared: workers accept on one listen socket (or serve() says it is unsupported)", async () => {
  // Deno: start() already refuses policy "shared" (lifecycle_test.ts); here serve() asks for it.
  const env: Record<string, string> = runtime === "deno"
    ? { APP_WORKERS: "2", APP_SERVE_POLICY: "shared" }
    : { APP_WORKERS: "2", APP_POLICY: "shared" };
  await withApp(env, async (app) => {
    if (runtime === "deno") {
      const errors = await app.waitFor(
        (e) => e.ev === "message" && "serveError" in (e.msg as object),
        2,
      );
      for (const e of errors) {
        const msg = e.msg as { serveError: string; message: string };
        assert.equal(msg.serveError, "UNSUPPORTED");
        assert.match(msg.message, /"shared" is not available on deno.*round-robin/);
      }
      return;
    }
    const port = await bound(app, 2);
    const bodies = [];
    for (let i = 0; i < 20; i++) bodies.push(await get(port));
    assert.ok(bodies.every((b) => /^worker [12]$/.test(b)), bodies.join());
  });
});

test("a policy can be overridden per serve() call", async () => {
  await withApp(
    { APP_WORKERS: "2", APP_POLICY: "round-robin", APP_SERVE_POLICY: "reuse-port" },
    async (app) => {
      const port = await bound(app, 2);
      assert.match(await get(port), /^worker [12]$/);
    },
  );
});

for (const policy of ["round-robin", "reuse-port"]) {
  test(`EADDRINUSE from binding reaches the worker's serve() (${policy})`, async () => {
    const blocker = await occupyPort();
    const port = (blocker.address() as { port: number }).port;
    try {
      await withApp(
        { APP_WORKERS: "1", APP_POLICY: policy, APP_PORT: String(port) },
        async (app) => {
          const [e] = await app.waitFor((e) =>
            e.ev === "message" && "serveError" in (e.msg as object)
          );
          assert.equal((e.msg as { serveError: string }).serveError, "EADDRINUSE");
        },
      );
    } finally {
      blocker.close();
    }
  });
}

/** Sends `n` requests one after another on one TCP connection; resolves with the bodies. */
function keepAliveRequests(port: number, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const bodies: string[] = [];
    let buffer = "";
    const ask = () => socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    socket.setEncoding("utf8");
    socket.setTimeout(5000, () => socket.destroy(new Error(`timeout after ${bodies.length}`)));
    socket.on("connect", ask);
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const match = buffer.match(/\r\n\r\n(worker \d+)/);
      if (!match) return;
      bodies.push(match[1]);
      buffer = "";
      if (bodies.length === n) {
        socket.end();
        resolve(bodies);
      } else ask();
    });
    socket.on("error", reject);
    socket.on(
      "close",
      () => bodies.length < n && reject(new Error(`closed after ${bodies.length}`)),
    );
  });
}

const keepAlivePolicies = runtime === "deno"
  ? ["round-robin", "reuse-port"]
  : ["round-robin", "shared", "reuse-port"];
for (const policy of keepAlivePolicies) {
  test(`keep-alive: one connection carries many requests (${policy})`, async () => {
    await withApp({ APP_WORKERS: "2", APP_POLICY: policy }, async (app) => {
      const port = await bound(app, 2);
      const bodies = await keepAliveRequests(port, 5);
      assert.equal(bodies.length, 5);
      assert.equal(new Set(bodies).size, 1, `one connection, one worker: ${bodies.join()}`);
    });
  });
}
