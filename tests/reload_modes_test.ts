// Rolling reloads under load, per serving mode and per net.ipv4.tcp_migrate_req (set in a fresh
// network namespace, never on the host): strictReloads and the node:http paths lose nothing; the
// native default loses nothing on Bun where the kernel migrates queued connections, and is
// measured (not asserted) where it does not and on Deno, whose Deno.serve loses some at either
// value; both then warn once, saying what avoids it.

import assert from "node:assert/strict";
import { test } from "node:test";
import { runtime } from "./_helpers.ts";
import { netnsUnavailable, runReloads, summary } from "./_netns.ts";

const noNetns = netnsUnavailable();
const LOAD = { NR_KEEPALIVE: "4", NR_FRESH: "4", NR_RAW: "4", NR_RELOADS: "3" };
const NATIVE = { deno: "Deno.serve", bun: "Bun.serve", node: "node:http" }[runtime];

function describe(events: Awaited<ReturnType<typeof runReloads>>): string {
  return JSON.stringify(events.filter((e) => e.ev !== "bound"));
}

test("strictReloads: rolling reloads under load fail 0 requests at tcp_migrate_req=0", async () => {
  // Without a namespace the host's value stands; strict reloads lose nothing at either value.
  const events = await runReloads({ ...LOAD, NR_STRICT: "1" }, { sysctl: noNetns ? undefined : 0 });
  const { bound, result } = summary(events);
  if (!noNetns) assert.equal(result.tcpMigrateReq, "0");
  assert.ok(bound.every((b) => b.engine === "node:http"), JSON.stringify(bound));
  assert.equal(bound.length, 2 * 4, "2 workers, then 3 generations of replacements");
  assert.ok(result.answered > 0, describe(events));
  assert.equal(result.failed, 0, describe(events));
  assert.ok(!events.some((e) => e.ev === "warning"), describe(events));
});

// Issue #13, item 5: Deno's node:http destroyed a connection whose in-flight response still said
// keep-alive, once the worker began closing; the raw clients write their next request on it at
// once. Repeated reloads with every request in flight for 50 ms, per node:http path.
for (
  const [name, env] of [
    ["round-robin", { NR_POLICY: "round-robin" }],
    ["reuse-port with strictReloads", { NR_STRICT: "1" }],
  ] as const
) {
  test(`reloads lose no keep-alive request in flight when closing begins (${name})`, async () => {
    const events = await runReloads({
      ...env,
      NR_KEEPALIVE: "0",
      NR_FRESH: "0",
      NR_RAW: "8",
      NR_DELAY_MS: "50",
      NR_RELOADS: "4",
    });
    const { result } = summary(events);
    assert.ok(result.answered > 100, describe(events));
    assert.equal(result.failed, 0, describe(events));
  });
}

test(`the default serve() (${NATIVE}) at tcp_migrate_req=1: 0 failed, or on Deno warned`, {
  skip: noNetns,
}, async () => {
  const events = await runReloads(LOAD, { sysctl: 1 });
  const { bound, result } = summary(events);
  assert.equal(result.tcpMigrateReq, "1");
  assert.ok(bound.every((b) => b.engine === NATIVE), JSON.stringify(bound));
  assert.ok(result.answered > 0, describe(events));
  const warnings = events.filter((e) => e.ev === "warning");
  if (runtime !== "deno") {
    assert.equal(result.failed, 0, describe(events));
    assert.equal(warnings.length, 0, describe(events));
    return;
  }
  // Deno.serve's shutdown() closes the connections it accepted but has not read a request from
  // yet, whatever the kernel does (measured: 1–7 per rolling reload of 2 workers; Bun.serve and
  // a Deno.listen loop lose none): a Deno bug, docs/policies.md. Measured, and said once.
  console.log(
    `deno Deno.serve at tcp_migrate_req=1: failed per rolling reload ` +
      `${JSON.stringify(result.perReload)} of ${result.answered + result.failed} requests`,
  );
  assert.deepEqual(warnings.map((w) => w.code), ["RELOAD_MAY_RESET"], describe(events));
  const message = String(warnings[0].message);
  assert.match(message, /Deno\.serve, whose shutdown\(\) closes, unanswered/);
  assert.match(message, /strictReloads: true/);
  assert.doesNotMatch(message, /sysctl -w/, "the sysctl is 1 already: it would not help");
});

test(`the default serve() (${NATIVE}) at tcp_migrate_req=0: failures measured, warned once`, {
  skip: noNetns,
}, async () => {
  const events = await runReloads(LOAD, { sysctl: 0 });
  const { bound, result } = summary(events);
  console.log(
    `${runtime} ${NATIVE} at tcp_migrate_req=0: failed per rolling reload ` +
      `${JSON.stringify(result.perReload)} of ${result.answered + result.failed} requests`,
  );
  assert.equal(result.tcpMigrateReq, "0");
  assert.ok(bound.every((b) => b.engine === NATIVE), JSON.stringify(bound));
  assert.ok(result.answered > 0, describe(events));
  // What may be lost is connections reset as a listener closes (the client sees ECONNRESET, or
  // EPIPE when it was still writing its request); nothing hangs or errs otherwise.
  assert.ok(result.errors.every((e) => e === "ECONNRESET" || e === "EPIPE"), describe(events));
  const warnings = events.filter((e) => e.ev === "warning");
  if (runtime === "node") return assert.equal(warnings.length, 0, "node:http listeners are lent");
  assert.deepEqual(warnings.map((w) => w.code), ["RELOAD_MAY_RESET"], describe(events));
  const message = String(warnings[0].message);
  assert.match(message, /does not migrate queued connections \(net\.ipv4\.tcp_migrate_req=0\)/);
  assert.match(message, /strictReloads: true/);
  // Bun loses nothing once the kernel migrates; Deno.serve's shutdown() still would (above).
  if (runtime === "bun") assert.match(message, /sysctl -w net\.ipv4\.tcp_migrate_req=1/);
  else assert.match(message, /Deno\.serve's shutdown\(\) closes, unanswered/);
});
