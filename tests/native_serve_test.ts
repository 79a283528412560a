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

// What the primary's one RELOAD_MAY_RESET warning says after "…, and ", for each kernel setting
// and each kind of native server (the namespace tests check it end to end, as root only).
test("lossOnClose(): what a native server's close may lose, and what avoids it", async () => {
  const { lossOnClose } = await import("../adapters/_native_server.ts");
  const stop = "shutdown() closes the connections the server has not read yet";
  assert.equal(lossOnClose("Bun.serve", undefined, true), undefined, "nothing is lost");
  const bun = lossOnClose("Bun.serve", undefined, false)!;
  assert.match(bun, /^it serves with Bun\.serve, whose listener cannot be handed to another /);
  assert.match(bun, /\(net\.ipv4\.tcp_migrate_req=0\): connections queued on its listener/);
  assert.match(bun, /To avoid it, run "sysctl -w net\.ipv4\.tcp_migrate_req=1" on the host, or /);
  assert.match(bun, /strictReloads: true \(workers then serve with node:http/);
  const migrating = lossOnClose("Deno.serve", stop, true)!;
  assert.equal(
    migrating,
    `it serves with Deno.serve, whose ${stop}. For reloads that lose none, create the cluster ` +
      "with strictReloads: true (workers then serve with node:http on a listener they can hand " +
      "over)",
  );
  const both = lossOnClose("Deno.serve", stop, false)!;
  assert.match(both, /may be reset; and Deno\.serve's shutdown\(\) closes the connections/);
  // A scale-down closes a listener in every mode: the sysctl still helps there.
  assert.match(both, /; "sysctl -w net\.ipv4\.tcp_migrate_req=1" on the host keeps a scale-down/);
  for (const text of [bun, migrating, both]) assert.ok(text.length < 1000, text);
});
