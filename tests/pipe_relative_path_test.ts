// A compat worker's server on a relative pipe path (its own cwd, not the primary's): it serves
// there, and the path is unlinked when the worker leaves through process.disconnect(), as Node's
// primary unlinks the pipes it bound for its workers (tests/fixtures/pipe_relative.ts).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { next, withFixture } from "./_compat_helpers.ts";

test("compat: a relative pipe path serves in the worker's cwd and is removed on its exit", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "x-cluster-pipe-"));
  try {
    const env = { DIR: dir, NAME: "server.sock" };
    await withFixture("pipe_relative.ts", env, async (app) => {
      assert.deepEqual(await next(app, (e) => e.ev !== "response" && e.ev !== "exit"), {
        ev: "listening",
        exists: true,
      });
      const response = await next(app, (e) => e.ev === "response" || e.ev === "request-error");
      assert.equal(response.status, 200);
      assert.match(String(response.body), /^pid \d+$/);
      assert.deepEqual(await next(app, (e) => e.ev === "exit"), {
        ev: "exit",
        code: 0,
        exists: false,
      });
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
