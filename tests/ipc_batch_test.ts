// Bursts of messages over a real channel (adapters/_ipc_batch.ts): every message arrives once,
// in order and as sent, both ways, while the runtime carried batches; a listener on the
// worker's own `process` sees each message alone; messages sent right before `process.exit()`
// still arrive. On Deno, Node and Bun, both serializations.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withFixture } from "./_helpers.ts";

for (const serialization of ["json", "advanced"]) {
  test(`a burst of 600 messages (${serialization}) comes back whole and in order, carried in batches`, async () => {
    await withFixture("ipc_burst.ts", { IPC_SERIALIZATION: serialization }, async (app) => {
      const [result] = await app.waitFor((e) => e.ev === "result", 1, 30_000);
      assert.equal(result.count, 600);
      assert.equal(result.order, true);
      assert.equal(result.same, true, "each value as its serialization writes it alone");
      if (serialization === "advanced") assert.equal(result.dates, true);
      const worker = result.worker as Record<string, unknown>;
      assert.equal(worker.raw, 600, "process.on('message') saw every message");
      assert.equal(worker.rawOrder, true);
      assert.equal(worker.sawBatch, false);
      assert.ok((worker.batches as number) > 0, "the primary wrote batches");
      assert.deepEqual(result.byes, ["bye-1", "bye-2", "bye-3"], "sent right before exit()");
    });
  });
}
