// The primary's `listening` address is the host the worker named, as in Node (an explicit "::"
// is IPv6 "::", no host is IPv4 null although both bind "::"): compat through
// tests/fixtures/listening_host.ts, and the core's `requested` field behind it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runtime } from "./_helpers.ts";
import { withFixture } from "./_compat_helpers.ts";

const FIXTURE = "listening_host.ts";

for (const policy of ["rr", "none"]) {
  test(`compat (${policy}): listening reports the host listen() named`, async () => {
    const env = { POLICY: policy, HOSTS: "::,-,0.0.0.0,127.0.0.1" };
    await withFixture(FIXTURE, env, async (app) => {
      const seen = await app.waitFor((e) => e.ev === "listening" || e.ev === "worker-error", 4);
      if (runtime === "deno" && policy === "none") {
        // Deno cannot share a listen socket between processes: SCHED_NONE is refused.
        for (const e of seen) {
          assert.deepEqual(e, { ev: "worker-error", message: { code: "UNSUPPORTED" } });
        }
        return;
      }
      const by = (host: string) => {
        const e = seen.find((e) => e.host === host);
        assert.ok(e, `no listening event for host ${host}: ${JSON.stringify(seen)}`);
        return { addressType: e.addressType, address: e.address, port: e.port };
      };
      assert.deepEqual(by("::"), { addressType: 6, address: "::", port: "number" });
      assert.deepEqual(by("-"), { addressType: 4, address: null, port: "number" });
      assert.deepEqual(by("0.0.0.0"), { addressType: 4, address: "0.0.0.0", port: "number" });
      assert.deepEqual(by("127.0.0.1"), { addressType: 4, address: "127.0.0.1", port: "number" });
    });
  });
}

test("core: the listening address carries the host the worker named as `requested`", async () => {
  await withFixture("listening_host_core.ts", {}, async (app) => {
    const seen = await app.waitFor((e) => e.ev === "listening" || e.ev === "error", 2);
    const by = Object.fromEntries(seen.map((e) => [e.id, e]));
    assert.equal(by[1]?.requested, "::", JSON.stringify(seen));
    assert.equal(by[1]?.hostname, "::");
    assert.equal(by[2]?.requested, null, JSON.stringify(seen));
  });
});
