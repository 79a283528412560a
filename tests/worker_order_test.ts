// A worker's send(), ready() and claim() reach the primary in call order, also when none is
// awaited (review R10: send() once wrote at once while ready() still awaited the connection).
import assert from "node:assert/strict";
import { test } from "node:test";
import { withFixture } from "./_helpers.ts";

test("send() does not overtake an earlier ready()", async () => {
  await withFixture("worker_order.ts", {}, async (app) => {
    const [order] = await app.waitFor((e) => e.ev === "order");
    assert.deepEqual(order.seen, [
      "message:first",
      "message:before-ready",
      "ready",
      "message:after-ready",
      "message:last",
    ]);
  });
});
