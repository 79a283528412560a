// Workers share a Unix socket through the primary, as node:cluster shares pipes: round-robin
// whatever the cluster's policy, with the core API (tests/fixtures/pipe_share.ts) and
// through compat with `server.listen(path)` and `maxConnections`
// (tests/fixtures/compat_pipe_drop.ts); and bad path options are refused in the worker.
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { validateServeOptions } from "../src/serve_options.ts";
import { runtime, withFixture } from "./_helpers.ts";

function get(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath, path: "/", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "x-cluster-pipes-"));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const policy of ["round-robin", "shared"]) {
  test(`listen({ path }): two workers serve one Unix socket round-robin (cluster policy ${policy})`, async () => {
    await inTempDir(async (dir) => {
      const socket = path.join(dir, "app.sock");
      await withFixture("pipe_share.ts", { SOCKET: socket, POLICY: policy }, async (app) => {
        if (policy === "shared" && runtime === "deno") {
          // Deno's child_process moves a listen socket instead of sharing it (a capability).
          const [failed] = await app.waitFor((e) => e.ev === "start-failed" || e.ev === "started");
          assert.deepEqual(failed, { ev: "start-failed", code: "UNSUPPORTED" });
          return;
        }
        const listening = await app.waitFor((e) => e.ev === "listening", 2);
        for (const e of listening) {
          assert.deepEqual(e.address, { hostname: socket, port: -1, family: "unix", requested: socket });
        }
        await app.waitFor((e) => e.ev === "started");
        const seen = new Set<string>();
        for (let i = 0; i < 40 && seen.size < 2; i++) seen.add(await get(socket));
        assert.deepEqual([...seen].sort(), ["worker 1", "worker 2"]);
        app.command({ cmd: "shutdown" });
        const [gone] = await app.waitFor((e) => e.ev === "gone");
        assert.equal(gone.exists, false, "the socket file is removed with its last worker");
      });
    });
  });
}

test("compat: a pipe's connections beyond a worker's maxConnections go to the others", async () => {
  await inTempDir(async (dir) => {
    const socket = path.join(dir, "drop.sock");
    await withFixture("compat_pipe_drop.ts", { SOCKET: socket }, async (app) => {
      const listening = await app.waitFor((e) => e.ev === "listening", 3);
      for (const e of listening) {
        assert.deepEqual(e.address, { addressType: -1, address: socket, port: -1 });
      }
      const [taken] = await app.waitFor((e) => e.ev === "taken");
      assert.deepEqual(taken.byLimit, { 0: 0, 1: 1, 9: 9 });
      const exits = await app.waitFor((e) => e.ev === "exit", 3);
      assert.deepEqual(exits.map((e) => e.code), [0, 0, 0]);
    });
  });
});

test("listen({ path }): a path with TCP options or reuse-port is refused before it is sent", () => {
  assert.throws(() => validateServeOptions({ path: "/tmp/a.sock", port: 80 }), {
    name: "TypeError",
    message: /path names a Unix socket, port a TCP one/,
  });
  for (const policy of ["reuse-port", "shared"] as const) {
    assert.throws(() => validateServeOptions({ path: "/tmp/a.sock", policy }), {
      name: "TypeError",
      message: new RegExp(`"${policy}" for a Unix socket: it is always "round-robin"`),
    });
  }
  assert.throws(() => validateServeOptions({ path: "" }), { name: "TypeError", message: /Invalid path/ });
  assert.doesNotThrow(() => validateServeOptions({ path: "/tmp/a.sock", policy: "round-robin" }));
});
