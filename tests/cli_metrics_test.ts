// x-cluster --metrics [host:]port: the primary serves the core's Prometheus text (/metrics) and
// health checks (/livez, /readyz) there, prints where, and counts the requests its workers served.
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "../scripts/_ports.ts";
import { ask, withCli } from "./_cli.ts";
import { fixture } from "./_helpers.ts";

test("--metrics serves /metrics, /livez and /readyz from the primary", async () => {
  const port = await freePort();
  const metrics = await freePort();
  const args = ["-w", "2", "--metrics", `127.0.0.1:${metrics}`, fixture("cli_http.ts")];
  await withCli(args, { PORT: String(port) }, async (run) => {
    const line = await run.waitForLine(/metrics on /);
    assert.match(
      line,
      new RegExp(`metrics on http://127\\.0\\.0\\.1:${metrics}/metrics \\(/livez, /readyz\\)$`),
    );
    await run.waitForLine(/2 workers ready/);
    for (let i = 0; i < 10; i++) await ask(port);
    const base = `http://127.0.0.1:${metrics}`;
    assert.equal((await fetch(`${base}/livez`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    // The workers report about once a second: wait until the 10 requests are counted.
    const deadline = Date.now() + 10_000;
    let counted = 0;
    while (counted < 10 && Date.now() < deadline) {
      const text = await (await fetch(`${base}/metrics`)).text();
      counted = Number(/^x_cluster_requests_total (\d+)$/m.exec(text)?.[1] ?? 0);
      if (counted < 10) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(counted >= 10, `x_cluster_requests_total is ${counted}`);
    run.signal("SIGTERM");
    assert.equal((await run.exited()).code, 0);
    assert.deepEqual(await run.leftBehind(), []);
  });
});
