// adapters/_builtins.ts: Node builtins load where first used, through
// `process.getBuiltinModule()`; without it (Node before 20.16 and 22.3) `loadAdapter()` imports
// them first, and a whole cluster still works (tests/fixtures/no_builtin_loader.ts).
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { builtin, preloadBuiltins } from "../adapters/_builtins.ts";
import { withFixture } from "./_helpers.ts";

test("builtin() returns the module an import gives, loaded once", async () => {
  await preloadBuiltins();
  assert.equal(builtin("node:net").Socket, net.Socket);
  assert.equal(builtin("node:net"), builtin("node:net"));
  assert.equal(typeof builtin("node:fs").readFileSync, "function");
});

test("without process.getBuiltinModule() a cluster serves TCP and UDP", async () => {
  await withFixture("no_builtin_loader.ts", {}, async (app) => {
    const [served] = await app.waitFor((e) => e.ev === "served");
    assert.deepEqual(served, {
      ev: "served",
      body: "http ok",
      echo: "echo ping",
      loader: "undefined",
    });
  });
});
