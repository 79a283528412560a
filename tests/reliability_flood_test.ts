// Floods (issue #13 item 10): one worker sends 200,000 small messages and 20 of 50 MB while
// another serves; the primary stays responsive and the other worker keeps serving.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type App, get, withFixture } from "./_helpers.ts";

async function serving(app: App, n: number): Promise<number> {
  await app.waitFor((e) => e.ev === "started", 1, 30_000);
  const bound = await app.waitFor((e) => e.ev === "message" && "bound" in (e.msg as object), n);
  return (bound[0].msg as { bound: number }).bound;
}

test("a flood from one worker does not stop another from serving; the primary's timers keep firing", async () => {
  await withFixture("reliability_app.ts", { REL_WORKERS: "2" }, async (app) => {
    const port = await serving(app, 2);
    app.command({ cmd: "lag-start" });
    app.command({
      cmd: "send",
      id: 1,
      msg: { op: "flood", small: 200_000, big: 20, bigSize: 50 * 1024 * 1024 },
    });
    let flooded = false, served = 0;
    const failures: string[] = [];
    const done = app.waitFor((e) => e.ev === "flooded", 1, 240_000).finally(() => (flooded = true));
    while (!flooded) {
      try {
        assert.match(await get(port), /^worker [12]$/);
        served++;
      } catch (error) {
        failures.push(String(error));
      }
    }
    const [result] = await done;
    app.command({ cmd: "lag-stop" });
    const [lag] = await app.waitFor((e) => e.ev === "lag");
    assert.equal(result.received, 200_021, "every message arrived");
    assert.deepEqual(failures.slice(0, 3), [], `${served} served during the flood`);
    assert.ok(served > 0);
    assert.ok((lag.max as number) < 1000, `the primary's event loop stalled ${lag.max} ms`);
  });
});
