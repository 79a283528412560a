// The primary's Prometheus endpoint with real workers (tests/fixtures/obs_app.ts): the cluster's
// and the workers' own metrics on /metrics, checked by `promtool check metrics`, the aggregation
// of worker metrics across workers and across a worker's crash, and the listener's errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { Cluster } from "../mod.ts";
import { type App, get, occupyPort, withFixture } from "./_helpers.ts";

const PROMTOOL = spawnSync("promtool", ["--version"]).status === 0;

async function scrape(port: number): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    signal: AbortSignal.timeout(10_000),
  });
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    text: await response.text(),
  };
}

/** The value of the sample `series` (name and labels exactly as printed), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Scrapes until `ok` holds. */
async function scrapeUntil(port: number, ok: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 10_000;
  let text = "";
  while (Date.now() < deadline) {
    text = (await scrape(port)).text;
    if (ok(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/metrics never matched; last:\n${text}`);
}

async function started(app: App): Promise<{ port: number; metricsPort: number }> {
  const [e] = await app.waitFor((e) => e.ev === "started");
  return { port: e.port as number, metricsPort: e.metricsPort as number };
}

test("/metrics passes promtool and shows the cluster and the workers' own metrics", async (t) => {
  await withFixture("obs_app.ts", {}, async (app) => {
    const { port, metricsPort } = await started(app);
    for (let i = 0; i < 10; i++) await get(port);
    const text = await scrapeUntil(
      metricsPort,
      (text) => sample(text, 'obs_hits_total{route="/"}') === 10,
    );
    const { status, type } = await scrape(metricsPort);
    assert.equal(status, 200);
    assert.equal(type, "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(sample(text, "x_cluster_ready"), 1);
    assert.equal(sample(text, "x_cluster_workers"), 2);
    assert.equal(sample(text, "x_cluster_requests_total"), 10);
    const perWorker = [1, 2].map((id) =>
      sample(text, `x_cluster_worker_requests_total{worker="${id}"}`)!
    );
    assert.equal(perWorker[0] + perWorker[1], 10);
    assert.ok(sample(text, 'x_cluster_worker_resident_memory_bytes{worker="1"}')! > 1e6);
    assert.ok(sample(text, 'x_cluster_worker_cpu_seconds_total{worker="2"}')! > 0);
    assert.ok(sample(text, 'x_cluster_worker_event_loop_lag_seconds{worker="1"}')! >= 0);
    assert.match(
      text,
      /^x_cluster_handoff_duration_seconds_count\{listener="round-robin\|127\.0\.0\.1\|0#0"\} 10$/m,
    );
    assert.equal(
      sample(
        text,
        'x_cluster_handoff_duration_seconds_bucket{listener="round-robin|127.0.0.1|0#0",le="+Inf"}',
      ),
      10,
    );
    // The workers' own metrics: summed, per worker, and the largest value.
    assert.equal(sample(text, "obs_largest_id"), 2);
    assert.notEqual(
      sample(text, 'obs_worker_busy{route="/",worker="1"}') ??
        sample(text, 'obs_worker_busy{worker="1"}'),
      undefined,
    );
    if (!PROMTOOL) {
      t.skip("promtool is not installed (Debian: apt-get install prometheus): format not linted");
      return;
    }
    const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
    assert.equal((lint.stdout + lint.stderr).trim(), "", "promtool has no complaint");
  });
});

test("the primary refuses a worker's x_cluster_ and malformed metrics, once per worker", async (t) => {
  await withFixture("obs_app.ts", { OBS_SPOOF: "1" }, async (app) => {
    const { port, metricsPort } = await started(app);
    await get(port);
    const text = await scrapeUntil(
      metricsPort,
      (text) => sample(text, 'obs_hits_total{route="/"}') === 1 && /^obs_largest_id 2$/m.test(text),
    );
    // The cluster's own readiness only, once; the worker's good metrics still served.
    assert.equal(text.split("\n").filter((l) => /^x_cluster_ready[ {]/.test(l)).length, 1);
    assert.equal(text.split("\n").filter((l) => l === "# TYPE x_cluster_ready gauge").length, 1);
    assert.doesNotMatch(text, /obs_many_labels|obs_bad_label/);
    // Several reports (statsInterval 100 ms) later: still one error per worker.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const refused = app.events.filter((e) => e.ev === "error" && e.code === "METRICS_REFUSED");
    assert.equal(refused.length, 2, JSON.stringify(refused));
    assert.match(refused[0].message as string, /"x_cluster_ready": the prefix "x_cluster_"/);
    if (!PROMTOOL) {
      t.skip("promtool is not installed (Debian: apt-get install prometheus): format not linted");
      return;
    }
    const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
  });
});

test("a summed worker counter keeps the counts of a worker that crashed", async () => {
  await withFixture("obs_app.ts", { OBS_WORKERS: "1" }, async (app) => {
    const { port, metricsPort } = await started(app);
    for (let i = 0; i < 5; i++) await get(port);
    await scrapeUntil(metricsPort, (text) => sample(text, 'obs_hits_total{route="/"}') === 5);
    await get(port, "/crash");
    // The replacement (worker 2) binds port 0 anew (the address closed with its last worker).
    const [listening] = await app.waitFor((e) => e.ev === "listening" && e.id === 2);
    await get(listening.port as number);
    const text = await scrapeUntil(
      metricsPort,
      (text) => sample(text, 'obs_hits_total{route="/"}') === 6,
    );
    assert.equal(sample(text, 'x_cluster_restarts_total{reason="crash"}'), 1);
    assert.equal(sample(text, 'x_cluster_slot_restarts_total{slot="0",reason="crash"}'), 1);
  });
});

test("the metrics listener answers 404 and 405 elsewhere", async () => {
  await withFixture("obs_app.ts", { OBS_WORKERS: "1" }, async (app) => {
    const { metricsPort } = await started(app);
    const base = `http://127.0.0.1:${metricsPort}`;
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /try \/metrics/);
    const post = await fetch(`${base}/metrics`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    await post.text();
  });
});

test("start() rejects with EADDRINUSE when the metrics port is taken", async () => {
  const taken = await occupyPort();
  try {
    const port = (taken.address() as { port: number }).port;
    const cluster = new Cluster({ workers: 0, metrics: { port }, signals: false });
    await assert.rejects(cluster.start(), (error: Error & { code?: string }) => {
      assert.equal(error.code, "EADDRINUSE");
      assert.match(
        error.message,
        /Cannot serve metrics on 127\.0\.0\.1:\d+: .*choose another 'metrics\.port'/,
      );
      return true;
    });
    await cluster.shutdown();
  } finally {
    taken.close();
  }
});

test("new Cluster() checks the metrics and statsInterval options", () => {
  assert.throws(() => new Cluster({ metrics: { port: 70000 } }), RangeError);
  assert.throws(() => new Cluster({ metrics: 9100 as never }), /'metrics' must be an object/);
  assert.throws(() => new Cluster({ metrics: { port: 1, hostname: "" } }), TypeError);
  assert.throws(() => new Cluster({ statsInterval: -1 }), RangeError);
});
