// The Kubernetes shutdown sequence, tested (docs/observability.md): SIGTERM to the primary
// under keep-alive load with long requests in flight. /readyz turns 503 at once (the readiness
// probe takes the pod out of rotation), every request in flight completes, keep-alive clients
// are told `Connection: close` and go away (as they would to another pod), and the primary
// exits 0 well within shutdownTimeout, i.e. within terminationGracePeriodSeconds.
import assert from "node:assert/strict";
import http from "node:http";
import process from "node:process";
import { test } from "node:test";
import { withFixture } from "./_helpers.ts";

interface Outcome {
  ok: number;
  failed: string[];
}

/** One request on `agent`; resolves with whether the server asked to close the connection. */
function request(
  port: number,
  path: string,
  agent: http.Agent,
  outcome: Outcome,
): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on("end", () => {
        if (res.statusCode === 200) outcome.ok++;
        else outcome.failed.push(`status ${res.statusCode}`);
        resolve(res.headers.connection === "close");
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (error: NodeJS.ErrnoException) => {
      outcome.failed.push(error.code ?? error.message);
      resolve(true);
    });
  });
}

test("SIGTERM under load: /readyz 503, 0 failed requests, exit 0 within shutdownTimeout", async () => {
  const env = { OBS_WORKERS: "2", OBS_SHUTDOWN_MS: "5000" };
  await withFixture("obs_app.ts", env, async (app) => {
    const [{ metricsPort }] = await app.waitFor((e) => e.ev === "started");
    const [{ port }] = await app.waitFor((e) => e.ev === "listening");
    const outcome: Outcome = { ok: 0, failed: [] };
    let terminated = false;
    // 8 keep-alive clients: each stops once the server asks it to close (a client of a pod
    // that left rotation reconnects elsewhere, not here).
    const clients = Array.from({ length: 8 }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (true) {
        const closing = await request(port as number, "/slow?ms=20", agent, outcome);
        if (closing && terminated) break;
      }
      agent.destroy();
    });
    // 4 long requests in flight when SIGTERM arrives.
    const long = Array.from({ length: 4 }, () => {
      const agent = new http.Agent({ keepAlive: false });
      return request(port as number, "/slow?ms=1500", agent, outcome);
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = outcome.ok;
    const sentAt = Date.now();
    terminated = true;
    process.kill(app.child.pid!, "SIGTERM");
    // The signal is handled on the primary's event loop: a probe may just beat it. Poll.
    let status = 200;
    while (status === 200 && Date.now() - sentAt < 1000) {
      const probe = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
      status = probe?.status ?? 0;
      await probe?.text();
    }
    assert.equal(status, 503, "out of rotation within a second of SIGTERM, while draining");
    await Promise.all([...clients, ...long]);
    const { code, signal } = await app.exited();
    const took = Date.now() - sentAt;
    assert.deepEqual(outcome.failed, [], `failed requests (${outcome.ok} answered)`);
    assert.ok(outcome.ok > before + 4, `requests answered after SIGTERM: ${outcome.ok - before}`);
    assert.equal(code, 0);
    assert.equal(signal, null);
    assert.ok(took < 5000, `exited ${took} ms after SIGTERM, within shutdownTimeout 5000`);
  });
});
