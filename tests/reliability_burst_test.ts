// Round-robin under a burst (issue #13 item 1): connections opened all at once are served, none
// is accepted by the primary and then closed without a response, whatever the listen backlog.
// With a small backlog the kernel drops SYNs beyond it and clients retry (1 s, 3 s, ...): slow,
// never lost (tcp_abort_on_overflow=0, Linux's default).
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { type App, get, withFixture } from "./_helpers.ts";

async function serving(app: App, n: number): Promise<number> {
  await app.waitFor((e) => e.ev === "started", 1, 30_000);
  const bound = await app.waitFor((e) => e.ev === "message" && "bound" in (e.msg as object), n);
  return (bound[0].msg as { bound: number }).bound;
}

/** Opens `n` connections at once, one request each; counts how each ended. */
async function burst(port: number, n: number) {
  let answered = 0, closedEarly = 0, failed = 0;
  await Promise.all(Array.from({ length: n }, () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      let data = "";
      socket.setTimeout(40_000, () => socket.destroy(new Error("timeout")));
      socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      socket.on("data", (chunk) => (data += chunk));
      socket.on("error", () => {});
      socket.on("close", () => {
        if (data.startsWith("HTTP/1.1 200")) answered++;
        else if (data === "") closedEarly++;
        else failed++;
        resolve();
      });
    })));
  return { answered, closedEarly, failed };
}

async function normalRequests(port: number, until: () => boolean): Promise<string[]> {
  const failures: string[] = [];
  while (!until()) {
    try {
      assert.match(await get(port), /^worker \d+$/);
    } catch (error) {
      failures.push(String(error));
    }
  }
  return failures;
}

for (const backlog of ["32", undefined]) {
  test(`round-robin serves bursts of 1,000 and 2,000 connections with none closed unanswered (backlog ${backlog ?? "default"})`, async () => {
    const env: Record<string, string> = { REL_WORKERS: "2" };
    if (backlog) env.REL_BACKLOG = backlog;
    await withFixture("reliability_app.ts", env, async (app) => {
      const port = await serving(app, 2);
      for (const n of [1000, 2000]) {
        let done = false;
        const normal = normalRequests(port, () => done);
        const result = await burst(port, n).finally(() => (done = true));
        assert.deepEqual(result, { answered: n, closedEarly: 0, failed: 0 }, `burst of ${n}`);
        assert.deepEqual((await normal).slice(0, 3), [], `normal requests during the burst of ${n}`);
      }
      assert.deepEqual(app.events.filter((e) => e.ev === "error" || e.ev === "exit"), []);
    });
  });
}
