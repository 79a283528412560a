// Which server runs `serve()`: the runtime's own (Deno.serve, Bun.serve) by default, node:http
// where it cannot (strictReloads, Deno without --unstable-net), with the reason on BoundServer.

import assert from "node:assert/strict";
import { test } from "node:test";
import { runtime } from "./_helpers.ts";
import { runReloads, summary } from "./_netns.ts";

const NATIVE = { deno: "Deno.serve", bun: "Bun.serve", node: "node:http" }[runtime];

test(`serve() by default runs ${NATIVE} in every worker`, async () => {
  const events = await runReloads({ NR_RELOADS: "0" });
  const { bound } = summary(events);
  assert.equal(bound.length, 2, JSON.stringify(events));
  for (const server of bound) {
    assert.equal(server.engine, NATIVE, JSON.stringify(server));
    assert.equal(server.engineReason, null);
  }
  const served = events.find((e) => e.ev === "served");
  assert.equal(served?.status, 200);
  assert.match(served?.body as string, /^worker [12]$/);
});

test("serve() with strictReloads runs node:http, and says why on Deno and Bun", async () => {
  const events = await runReloads({ NR_RELOADS: "0", NR_STRICT: "1" });
  const { bound } = summary(events);
  assert.equal(bound.length, 2, JSON.stringify(events));
  for (const server of bound) {
    assert.equal(server.engine, "node:http", JSON.stringify(server));
    if (runtime === "node") assert.equal(server.engineReason, null);
    else assert.match(server.engineReason as string, /^strictReloads: .*cannot be handed over/);
  }
  assert.equal(events.find((e) => e.ev === "served")?.status, 200);
});

test("listen() of a node:http server reports node:http, without a reason", async () => {
  const events = await runReloads({ NR_RELOADS: "0", NR_API: "listen" });
  for (const server of summary(events).bound) {
    assert.equal(server.engine, "node:http", JSON.stringify(server));
    assert.equal(server.engineReason, null);
  }
  assert.equal(events.find((e) => e.ev === "served")?.status, 200);
});

test("Deno without --unstable-net: serve() runs node:http and names the flag", {
  skip: runtime !== "deno" && "Deno only",
}, async () => {
  const events = await runReloads({ NR_RELOADS: "0" }, { flags: ["-A"] });
  for (const server of summary(events).bound) {
    assert.equal(server.engine, "node:http", JSON.stringify(server));
    assert.match(server.engineReason as string, /--unstable-net/);
  }
  assert.equal(events.find((e) => e.ev === "served")?.status, 200);
});
