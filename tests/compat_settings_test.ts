// cluster.settings and the core options a compat fork() uses (compat/_settings.ts), without
// processes: what makes the core behave like node:cluster is decided there.
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { Cluster } from "../mod.ts";
import { InspectPorts } from "../compat/_inspect.ts";
import { coreOptions, forkExecArgv, mergeSettings } from "../compat/_settings.ts";

test("compat: setupPrimary() settings: Node's defaults, then the current ones, then the new", () => {
  const first = mergeSettings({}, { args: ["--a"] });
  assert.deepEqual(first, {
    args: ["--a"],
    exec: process.argv[1],
    execArgv: process.execArgv,
    silent: false,
  });
  assert.deepEqual(mergeSettings(first, { silent: true }), { ...first, silent: true });
  assert.throws(() => mergeSettings({}, null as never), TypeError);
});

test("compat: fork()'s core options: no respawn, no signals, ready once online, no deadline", () => {
  const options = coreOptions(mergeSettings({}, {}), new Set(), "round-robin");
  assert.equal(options.workers, 0);
  assert.equal(options.respawn, false);
  assert.equal(options.signals, false);
  // node:cluster never kills a worker that is slow to start or never listens.
  assert.equal(options.readiness, "online");
  assert.equal(options.readyTimeout, 2 ** 31 - 1);
  assert.equal(options.policy, "round-robin");
  // The core accepts them as they are.
  assert.ok(new Cluster(options) instanceof Cluster);
});

test("compat: fork()'s core options pass exec only when the user set it", () => {
  const settings = mergeSettings({}, { exec: "worker.js" });
  assert.equal(coreOptions(settings, new Set(), "shared").exec, undefined);
  assert.equal(coreOptions(settings, new Set(["exec"]), "shared").exec, "worker.js");
  const silent = coreOptions(mergeSettings({}, { silent: true, cwd: "/" }), new Set(), "shared");
  assert.deepEqual([silent.silent, silent.cwd, silent.policy], [true, "/", "shared"]);
});

test("compat: fork()'s runtime flags: the user's execArgv or the defaults, and an inspector port", () => {
  const ports = new InspectPorts();
  const settings = mergeSettings({}, { execArgv: ["--inspect"] });
  assert.deepEqual(forkExecArgv(settings, new Set(), ["--x"], ports, "node"), ["--x"]);
  const debugPort = (process as { debugPort?: number }).debugPort ?? 9229;
  assert.deepEqual(forkExecArgv(settings, new Set(["execArgv"]), [], ports, "node"), [
    "--inspect",
    `--inspect-port=${debugPort + 1}`,
  ]);
  assert.deepEqual(forkExecArgv(settings, new Set(["execArgv"]), [], ports, "node"), [
    "--inspect",
    `--inspect-port=${debugPort + 2}`,
  ]);
  const brk = mergeSettings({}, { execArgv: ["--inspect-brk=0.0.0.0:1"], inspectPort: 9300 });
  assert.deepEqual(forkExecArgv(brk, new Set(["execArgv"]), [], ports, "deno"), [
    "--inspect-brk=0.0.0.0:9300",
  ]);
  assert.deepEqual(forkExecArgv(brk, new Set(["execArgv"]), [], ports, "bun"), [
    "--inspect-brk=0.0.0.0:9300",
  ]);
  const bad = mergeSettings({}, { execArgv: ["--inspect"], inspectPort: 65536 });
  assert.throws(
    () => forkExecArgv(bad, new Set(["execArgv"]), [], ports, "node"),
    (error: unknown) => error instanceof RangeError && /inspectPort 65536/.test(error.message),
  );
});
