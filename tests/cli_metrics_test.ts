// x-cluster --metrics [host:]port: the primary serves the core's Prometheus text (/metrics) and
// health checks (/livez, /readyz) there, prints where, and counts the requests its workers served,
// those of a native Deno.serve / Bun.serve server included (not Bun's static routes).
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "../scripts/_ports.ts";
import { ask, withCli } from "./_cli.ts";
import { fixture, runtime } from "./_helpers.ts";

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
    const counted = await requestsTotal(base, 10);
    assert.ok(counted >= 10, `x_cluster_requests_total is ${counted}`);
    run.signal("SIGTERM");
    assert.equal((await run.exited()).code, 0);
    assert.deepEqual(await run.leftBehind(), []);
  });
});

/** x_cluster_requests_total once it reached `least` (the workers report about once a second). */
async function requestsTotal(base: string, least: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  let counted = 0;
  while (counted < least && Date.now() < deadline) {
    const text = await (await fetch(`${base}/metrics`)).text();
    counted = Number(/^x_cluster_requests_total (\d+)$/m.exec(text)?.[1] ?? 0);
    if (counted < least) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return counted;
}

/** GET `path` on 127.0.0.1:`port` on a new connection; the body. */
async function get(port: number, path: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { connection: "close" },
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(response.status, 200, path);
  return await response.text();
}

const natives = [
  // Deno.serve({ ...options, handler }): 5 requests, all counted.
  { on: "deno", script: "cli_deno_handler.ts", paths: ["/", "/", "/", "/", "/"], counted: 5 },
  // fetch, a function route and a per-method route are counted; the 3 static ones are not.
  {
    on: "bun",
    script: "cli_bun_routes.ts",
    paths: ["/", "/fn", "/fn", "/method", "/static", "/static", "/static"],
    counted: 4,
  },
];

for (const native of natives) {
  test(
    `--metrics counts the requests of a native server (${native.script})`,
    { skip: runtime === native.on ? false : `${native.on} only` },
    async () => {
      const port = await freePort();
      const metrics = await freePort();
      const args = ["-w", "1", "--metrics", `127.0.0.1:${metrics}`, fixture(native.script)];
      await withCli(args, { PORT: String(port) }, async (run) => {
        await run.waitForLine(/1 workers? ready/);
        for (const path of native.paths) await get(port, path);
        const base = `http://127.0.0.1:${metrics}`;
        assert.ok((await requestsTotal(base, native.counted)) >= native.counted);
        // Another report interval: nothing more is counted than the handlers ran.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.equal(await requestsTotal(base, native.counted), native.counted);
        if (native.on === "bun") await run.waitForLine(/notice: Bun\.serve answers static routes/);
        run.signal("SIGTERM");
        assert.equal((await run.exited()).code, 0);
        assert.deepEqual(await run.leftBehind(), []);
      });
    },
  );
}
