// The primary's view of a worker's process, on real processes (tests/fixtures/compat_process.ts):
// compat's worker.process has its pid as fork() returns and the real stdio pipes, each worker
// gets its own inspector port; the core's Worker.process, and node:cluster's args default.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import process from "node:process";
import { test } from "node:test";
import { command, fixture, runtime } from "./_helpers.ts";
import { freePort, next, withFixture } from "./_compat_helpers.ts";
import { killGroup, spawnGroup } from "../scripts/_process.ts";

const FIXTURE = "compat_process.ts";

test("compat: worker.process has its pid at once and the real stdio pipes, as Buffers", async () => {
  // Bun's fork() cannot pass a pipe beyond stdio 3 (measured with child_process alone), and
  // Deno's net.Socket cannot open a descriptor (`Unsupported fd type`).
  const extra = runtime === "node";
  await withFixture(FIXTURE, { SCENARIO: "stdio", EXTRA_PIPE: extra ? "1" : "0" }, async (app) => {
    const forked = await next(app, (e) => e.ev === "forked");
    assert.deepEqual(forked, {
      ev: "forked",
      pid: "number",
      stdout: true,
      stdio: extra ? 5 : 4,
      spawnargs: true,
    });
    assert.deepEqual(await next(app, (e) => e.ev === "stdout"), {
      ev: "stdout",
      text: "out\n",
      buffers: true,
    });
    assert.deepEqual(await next(app, (e) => e.ev === "stderr"), {
      ev: "stderr",
      text: "err\n",
      buffers: true,
    });
    if (extra) assert.equal((await next(app, (e) => e.ev === "pipe")).text, "ping");
    app.command({});
    assert.equal((await next(app, (e) => e.ev === "exit")).code, 0);
  });
});

test("compat: each worker forked with an inspector flag gets its own port", async () => {
  const ports = [await freePort(), await freePort()];
  const env = { SCENARIO: "inspect", FLAG: "--inspect=127.0.0.1:0", PORTS: ports.join(",") };
  await withFixture(FIXTURE, env, async (app) => {
    const forked = await app.waitFor((e) => e.ev === "forked", 2);
    for (const [i, e] of forked.entries()) {
      const flags = (e.spawnargs as string[]).filter((a) => a.startsWith("--inspect"));
      // Node: --inspect-port; Deno and Bun have none, the port goes into the flag.
      assert.deepEqual(
        flags,
        runtime === "node"
          ? ["--inspect=127.0.0.1:0", `--inspect-port=${ports[i]}`]
          : [`--inspect=127.0.0.1:${ports[i]}`],
      );
    }
    assert.equal((await next(app, (e) => e.ev === "bad-port")).thrown, "ERR_SOCKET_BAD_PORT");
    await app.waitFor((e) => e.ev === "online", 2);
    for (const port of ports) {
      const response = await fetch(`http://127.0.0.1:${port}/json/version`);
      assert.equal(response.status, 200, `an inspector answers on ${port}`);
      await response.body?.cancel();
    }
  });
});

test("core: workers get the primary's arguments, execArgv(flags) extends the defaults, Worker.process", async () => {
  const flag = runtime === "node"
    ? "--no-deprecation"
    : runtime === "bun"
    ? "--smol"
    : "--no-prompt";
  const { file, args } = command(fixture(FIXTURE));
  const child: ChildProcess = spawnGroup(file, [...args, "one", "two"], {
    env: { ...process.env, SCENARIO: "core", FLAG: flag },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const events = out.trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(code, 0, out);
    assert.deepEqual(events.find((e) => e.ev === "stdout"), {
      ev: "stdout",
      text: "core\n",
      buffers: true,
    });
    const message = events.find((e) => e.ev === "message");
    assert.deepEqual(message.message.args, ["one", "two"]);
    assert.deepEqual(message.primaryArgs, ["one", "two"]);
    assert.equal(message.calls.length, 1);
    assert.equal(message.calls[0].id, 1);
    // Deno's process.execArgv never shows deno's own flags; the function got the permissions.
    if (runtime === "deno") assert.ok(message.calls[0].flags.includes("--allow-net"));
    else assert.deepEqual(message.message.execArgv, [flag]);
  } finally {
    if (child.pid !== undefined) killGroup(child.pid);
  }
});
