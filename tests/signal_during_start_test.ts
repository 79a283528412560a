// A signal that shuts the primary down while `start()` is pending ends the process as a signal
// at any other time does (workers stopped, exit code 0), without start() rejecting into the
// program: before, its SHUT_DOWN rejection surfaced as an unhandled error that ended the
// primary before it had stopped its workers.
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { alive, withFixture } from "./_helpers.ts";

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} while start() waits for workers: clean exit 0, workers gone`, async () => {
    await withFixture("signal_during_start.ts", {}, async (app) => {
      const [online] = await app.waitFor((e) => e.ev === "online");
      // process.kill, not child.kill(): after child.kill(), Deno's ChildProcess reports the
      // signal as the way the child ended even when it exited with a code of its own.
      process.kill(app.child.pid!, signal);
      const { code } = await app.exited();
      assert.equal(code, 0, app.stderr.join(""));
      assert.ok(!app.events.some((e) => e.ev === "started" || e.ev === "start-failed"));
      assert.doesNotMatch(app.stderr.join(""), /SHUT_DOWN|Error/);
      const pid = online.pid as number;
      for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(!alive(pid), `worker ${pid} outlived its primary`);
    });
  });
}
