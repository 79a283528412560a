// What x-cluster writes: worker output lines prefixed with [w<id>] (stdout to stdout, stderr to
// stderr), its own lines as [x-cluster] on stderr, or every line as one JSON object with
// --log-format json; and --watch: a change under a watched path reloads every worker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../scripts/_ports.ts";
import { distinctPids, withCli } from "./_cli.ts";
import { fixture } from "./_helpers.ts";

test("worker lines are prefixed [w<id>], the CLI's own [x-cluster]", async () => {
  const port = await freePort();
  await withCli(["-w", "2", fixture("cli_http.ts")], { PORT: String(port) }, async (run) => {
    await run.waitForLine(/2 workers ready/);
    // (stdout and stderr are two pipes: wait for each line on its own.)
    for (
      const line of [/^\[w1\] stderr of/, /^\[w2\] stderr of/, /^\[w1\] started/, /^\[w2\] started/]
    ) {
      await run.waitForLine(line);
    }
    for (const id of [1, 2]) {
      assert.ok(run.stdout.some((l) => new RegExp(`^\\[w${id}\\] started \\d+$`).test(l)));
      assert.ok(run.stderr.some((l) => new RegExp(`^\\[w${id}\\] stderr of \\d+$`).test(l)));
    }
    assert.ok(run.stderr.some((l) => /^\[x-cluster\] 2 workers ready/.test(l)));
    assert.deepEqual(run.lines.filter((l) => !/^\[(w\d+|x-cluster)\] /.test(l)), []);
    run.signal("SIGTERM");
    assert.equal((await run.exited()).code, 0);
  });
});

test("--log-format json writes one JSON object per line", async () => {
  const port = await freePort();
  const args = ["-w", "2", "--log-format", "json", fixture("cli_http.ts")];
  await withCli(args, { PORT: String(port) }, async (run) => {
    await run.waitForLine(/2 workers ready/);
    for (
      const line of [
        /"worker":2.*stderr of/,
        /"worker":1.*stderr of/,
        /"worker":1.*started/,
        /"worker":2.*started/,
      ]
    ) {
      await run.waitForLine(line);
    }
    const parsed = (lines: string[]) => lines.map((line) => JSON.parse(line));
    const out = parsed(run.stdout);
    const err = parsed(run.stderr);
    for (const entry of [...out, ...err]) {
      assert.deepEqual(Object.keys(entry), ["time", "worker", "pid", "stream", "message"]);
      assert.ok(!Number.isNaN(Date.parse(entry.time)));
    }
    for (const worker of [1, 2]) {
      const started = out.find((e) => e.worker === worker && /^started /.test(e.message));
      assert.ok(started, `no started line of worker ${worker}`);
      assert.equal(started.stream, "stdout");
      assert.equal(started.message, `started ${started.pid}`);
      assert.ok(err.some((e) => e.worker === worker && e.stream === "stderr"));
    }
    const ready = err.find((e) => /workers ready/.test(e.message));
    assert.equal(ready.worker, null);
    assert.equal(ready.pid, run.pgid);
    run.signal("SIGTERM");
    assert.equal((await run.exited()).code, 0);
  });
});

test("--watch: changing a watched file reloads every worker", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "x-cluster-watch-"));
  try {
    writeFileSync(path.join(dir, "config.txt"), "one");
    const port = await freePort();
    const args = ["-w", "2", "--watch", dir, fixture("cli_http.ts")];
    await withCli(args, { PORT: String(port) }, async (run) => {
      await run.waitForLine(/2 workers ready/);
      const before = await distinctPids(port, 2);
      const from = run.lines.length;
      writeFileSync(path.join(dir, "config.txt"), "two");
      await run.waitForLine(/config\.txt changed: reloading 2 workers/, { from });
      const line = await run.waitForLine(/reloaded: pids/, { from });
      const after = line.replace(/^.*pids /, "").split(", ").map(Number);
      assert.equal(after.length, 2);
      for (const pid of after) assert.ok(!before.includes(pid));
      assert.deepEqual((await distinctPids(port, 2)).sort(), after.sort());
      run.signal("SIGTERM");
      assert.equal((await run.exited()).code, 0);
      assert.deepEqual(await run.leftBehind(), []);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
