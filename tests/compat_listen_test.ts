// listen({ ipv6Only }) in compat workers: the primary binds IPv6 only, so IPv4 on that port
// stays free (tests/fixtures/compat_ipv6only.ts); without it, "::" takes IPv4 too.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runtime } from "./_helpers.ts";
import { freePort, next, withFixture } from "./_compat_helpers.ts";

const FIXTURE = "compat_ipv6only.ts";

test("compat: listen({ host: '::', ipv6Only: true }) leaves IPv4 on the port free", async () => {
  const port = await freePort();
  await withFixture(FIXTURE, { PORT: String(port), V6: "1" }, async (app) => {
    if (runtime === "deno") {
      // Deno's node:net ignores ipv6Only: refused instead of binding IPv4 too.
      const errors = await app.waitFor((e) => e.ev === "worker-error", 2);
      for (const e of errors) assert.deepEqual(e.message, { code: "UNSUPPORTED" });
      return;
    }
    assert.equal((await next(app, (e) => e.ev === "v4")).code, null);
  });
});

test("compat: listen({ host: '::' }) without ipv6Only takes IPv4 too", async () => {
  const port = await freePort();
  await withFixture(FIXTURE, { PORT: String(port), V6: "0" }, async (app) => {
    assert.equal((await next(app, (e) => e.ev === "v4")).code, "EADDRINUSE");
  });
});
