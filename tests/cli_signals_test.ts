// x-cluster's signals and exit codes, with a real node:http server under real load: SIGHUP
// reloads every worker (new pids, no failed request), SIGTTIN/SIGTTOU add and remove a worker,
// SIGTERM and SIGINT stop with exit code 0, and a script that throws at start ends in a crash
// loop with a non-zero exit code. No worker is left behind on any path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "../scripts/_ports.ts";
import { distinctPids, runCli, withCli } from "./_cli.ts";
import { fixture } from "./_helpers.ts";
import { describeCounts, startLoad } from "./_load.ts";

const pidsOf = (line: string): number[] =>
  line.replace(/^.*pids /, "").split(", ").map(Number).sort();

test("SIGHUP reloads every worker under load without a failed request", async () => {
  const port = await freePort();
  await withCli(["-w", "2", fixture("cli_http.ts")], { PORT: String(port) }, async (run) => {
    await run.waitForLine(/2 workers ready/);
    const before = (await distinctPids(port, 2)).sort();
    const load = startLoad(port, { keepAlive: 2, fresh: 2 });
    const from = run.lines.length;
    run.signal("SIGHUP");
    const after = pidsOf(await run.waitForLine(/reloaded: pids/, { from }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const counts = await load.stop();
    assert.equal(counts.failed, 0, describeCounts(counts));
    assert.ok(counts.answered > 0, describeCounts(counts));
    assert.equal(after.length, 2);
    for (const pid of after) assert.ok(!before.includes(pid), `${pid} was there before`);
    assert.deepEqual((await distinctPids(port, 2)).sort(), after);
    run.signal("SIGTERM");
    assert.deepEqual(await run.exited(), { code: 0, signal: null });
    assert.deepEqual(await run.leftBehind(), []);
  });
});

test("SIGTTIN adds a worker, SIGTTOU removes one, never below 1", async () => {
  const port = await freePort();
  await withCli(["-w", "2", fixture("cli_http.ts")], { PORT: String(port) }, async (run) => {
    await run.waitForLine(/2 workers ready/);
    let from = run.lines.length;
    run.signal("SIGTTIN");
    const three = pidsOf(await run.waitForLine(/scaled to 3: pids/, { from }));
    assert.equal(three.length, 3);
    assert.deepEqual((await distinctPids(port, 3)).sort(), three);
    for (const count of [2, 1]) {
      from = run.lines.length;
      run.signal("SIGTTOU");
      const pids = pidsOf(await run.waitForLine(new RegExp(`scaled to ${count}: pids`), { from }));
      assert.equal(pids.length, count);
    }
    from = run.lines.length;
    run.signal("SIGTTOU");
    await run.waitForLine(/SIGTTOU: already at 1 worker/, { from });
    assert.equal((await distinctPids(port, 2, 20)).length, 1);
    assert.equal(run.members().length, 2, "the primary and one worker");
    run.signal("SIGINT");
    assert.deepEqual(await run.exited(), { code: 0, signal: null });
    assert.deepEqual(await run.leftBehind(), []);
  });
});

test("a script that throws at start ends in a crash loop and exit code 1", async () => {
  const { code, stderr, run } = await runCli(["-w", "1", fixture("cli_throws.ts")]);
  assert.equal(code, 1);
  assert.match(stderr, /cli_throws\.ts fails at start on purpose/);
  assert.match(stderr, /stopped restarting: its workers ended 5 times in a row/);
  assert.match(stderr, /stopping: fix the script and start x-cluster again/);
  assert.deepEqual(await run.leftBehind(), []);
});

for (const [exitCode, expected] of [[0, 0], [3, 1]]) {
  test(`--no-respawn: once every worker exited with ${exitCode}, x-cluster exits ${expected}`, async () => {
    const port = await freePort();
    const env = { PORT: String(port), EXIT_AFTER: "300", EXIT_CODE: String(exitCode) };
    const { code, stderr, run } = await runCli(
      ["-w", "2", "--no-respawn", fixture("cli_http.ts")],
      env,
    );
    assert.equal(code, expected, stderr);
    assert.match(stderr, /every worker has exited and --no-respawn is set: stopping/);
    assert.deepEqual(await run.leftBehind(), []);
  });
}
