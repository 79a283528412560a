// Unit tests for src/options.ts: every bad option throws at once, naming the option, the value
// and what would work; good options come back with the defaults filled in.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ClusterOptions, DEFAULTS } from "../src/options.ts";
import { checkEnv, resolveOptions } from "../src/_resolve_options.ts";

type Bad = [
  label: string,
  options: unknown,
  kind: typeof TypeError | typeof RangeError,
  message: RegExp,
];

const BAD: Bad[] = [
  ["options null", null, TypeError, /'options' must be an object: current value is null/],
  ["options an array", [], TypeError, /'options' must be an object/],
  [
    "workers -1",
    { workers: -1 },
    RangeError,
    /'workers' must be an integer >= 0: current value is -1/,
  ],
  ["workers 1.5", { workers: 1.5 }, RangeError, /'workers'.*1\.5/],
  ["workers '2'", { workers: "2" }, TypeError, /'workers'.*current value is "2"/],
  [
    "policy unknown",
    { policy: "fastest" },
    TypeError,
    /'policy' must be one of "round-robin", "shared", "reuse-port": current value is "fastest"/,
  ],
  ["exec 42", { exec: 42 }, TypeError, /'exec' must be a non-empty string: current value is 42/],
  ["exec empty", { exec: "" }, TypeError, /'exec'.*current value is ""/],
  [
    "args a string",
    { args: "x" },
    TypeError,
    /'args' must be an array of strings: current value is "x"/,
  ],
  [
    "args a number element",
    { args: ["a", 1] },
    TypeError,
    /'args\[1\]' must be a string: current value is 1/,
  ],
  [
    "execArgv a string",
    { execArgv: "--inspect" },
    TypeError,
    /'execArgv' must be an array of strings/,
  ],
  [
    "execArgv null element",
    { execArgv: [null] },
    TypeError,
    /'execArgv\[0\]' must be a string: current value is null/,
  ],
  [
    "env null",
    { env: null },
    TypeError,
    /'env' must be an object of strings: current value is null/,
  ],
  ["env an array", { env: ["A=1"] }, TypeError, /'env' must be an object of strings/],
  [
    "env a number value",
    { env: { PORT: 8000 } },
    TypeError,
    /'env\.PORT' must be a string: current value is 8000; write "8000"/,
  ],
  [
    "env an undefined value",
    { env: { A: undefined } },
    TypeError,
    /'env\.A' must be a string: current value is undefined/,
  ],
  ["cwd 1", { cwd: 1 }, TypeError, /'cwd' must be a non-empty string: current value is 1/],
  [
    "silent 'yes'",
    { silent: "yes" },
    TypeError,
    /'silent' must be true or false: current value is "yes"/,
  ],
  ["signals 0", { signals: 0 }, TypeError, /'signals' must be true or false: current value is 0/],
  ["strictReloads 1", { strictReloads: 1 }, TypeError, /'strictReloads' must be true or false/],
  [
    "serialization v8",
    { serialization: "v8" },
    TypeError,
    /'serialization' must be one of "json", "advanced": current value is "v8"/,
  ],
  [
    "stdio 'all'",
    { stdio: "all" },
    TypeError,
    /'stdio' must be "pipe", "inherit", "ignore" or an array with "ipc" once/,
  ],
  [
    "stdio without ipc",
    { stdio: ["pipe", "pipe", "pipe"] },
    TypeError,
    /'stdio'.*\["pipe","pipe","pipe"\]/,
  ],
  ["stdio with ipc twice", { stdio: ["ipc", "ipc"] }, TypeError, /'stdio'/],
  ["uid -1", { uid: -1 }, RangeError, /'uid' must be an integer >= 0: current value is -1/],
  ["gid 'root'", { gid: "root" }, TypeError, /'gid'.*"root"/],
  [
    "maxInFlight 0",
    { maxInFlight: 0 },
    RangeError,
    /'maxInFlight' must be an integer >= 1: current value is 0/,
  ],
  [
    "shutdownTimeout -1",
    { shutdownTimeout: -1 },
    RangeError,
    /'shutdownTimeout' must be a finite number >= 0: current value is -1/,
  ],
  [
    "shutdownTimeout Infinity",
    { shutdownTimeout: Infinity },
    RangeError,
    /'shutdownTimeout'.*Infinity/,
  ],
  [
    "shutdownTimeout beyond a timer",
    { shutdownTimeout: 2 ** 31 },
    RangeError,
    /'shutdownTimeout' must be at most 2147483647 ms/,
  ],
  [
    "readyTimeout 0",
    { readyTimeout: 0 },
    RangeError,
    /'readyTimeout' must be a finite number >= 1: current value is 0/,
  ],
  ["readyTimeout NaN", { readyTimeout: NaN }, RangeError, /'readyTimeout'.*NaN/],
  ["heartbeatTimeout -5", { heartbeatTimeout: -5 }, RangeError, /'heartbeatTimeout'/],
  [
    "killTimeout '1s'",
    { killTimeout: "1s" },
    TypeError,
    /'killTimeout' must be a number >= 0: current value is "1s"/,
  ],
  ["maxRequests -1", { maxRequests: -1 }, RangeError, /'maxRequests'/],
  ["maxMemory a string", { maxMemory: "1GB" }, TypeError, /'maxMemory'.*"1GB"/],
  [
    "reloadConcurrency 0",
    { reloadConcurrency: 0 },
    RangeError,
    /'reloadConcurrency' must be an integer >= 1: current value is 0/,
  ],
  [
    "readiness unknown",
    { readiness: "ready" },
    TypeError,
    /'readiness' must be one of "listening", "manual", "online": current value is "ready"/,
  ],
  ["adapter {}", { adapter: {} }, TypeError, /'adapter' must be an Adapter/],
  [
    "respawn 'always'",
    { respawn: "always" },
    TypeError,
    /'respawn' must be a boolean or an object of respawn options: current value is "always"/,
  ],
  ["respawn null", { respawn: null }, TypeError, /'respawn'.*null/],
  [
    "respawn.maxRestarts -1",
    { respawn: { maxRestarts: -1 } },
    RangeError,
    /'respawn\.maxRestarts' must be an integer >= 1: current value is -1/,
  ],
  [
    "respawn.maxRestarts 0",
    { respawn: { maxRestarts: 0 } },
    RangeError,
    /'respawn\.maxRestarts'.*0/,
  ],
  [
    "respawn.base -1",
    { respawn: { base: -1 } },
    RangeError,
    /'respawn\.base' must be a finite number >= 0: current value is -1/,
  ],
  [
    "respawn.factor 0.5",
    { respawn: { factor: 0.5 } },
    RangeError,
    /'respawn\.factor' must be a finite number >= 1: current value is 0\.5/,
  ],
  [
    "respawn.cap below base",
    { respawn: { base: 500, cap: 100 } },
    RangeError,
    /'respawn\.cap' must be >= 'respawn\.base' \(500\): current value is 100/,
  ],
  [
    "respawn.stableUptime '10s'",
    { respawn: { stableUptime: "10s" } },
    TypeError,
    /'respawn\.stableUptime'/,
  ],
  [
    "respawn.window 0",
    { respawn: { window: 0 } },
    RangeError,
    /'respawn\.window' must be a finite number >= 1: current value is 0/,
  ],
  [
    "heartbeatInterval 0 with a watchdog",
    { heartbeatTimeout: 1000, heartbeatInterval: 0 },
    RangeError,
    /Cannot create the cluster: 'heartbeatInterval' must be a number > 0 when 'heartbeatTimeout' is set: current value is 0/,
  ],
  [
    "heartbeatInterval 0 with recycling",
    { maxRequests: 100, heartbeatInterval: 0 },
    RangeError,
    /'heartbeatInterval' must be a number > 0 when 'maxRequests' is set/,
  ],
  [
    "heartbeatInterval >= heartbeatTimeout",
    { heartbeatTimeout: 1000, heartbeatInterval: 1000 },
    RangeError,
    /'heartbeatInterval' must be less than 'heartbeatTimeout' \(1000\).*current value is 1000; .*e\.g\. 250/,
  ],
  [
    "default heartbeatInterval over a short heartbeatTimeout",
    { heartbeatTimeout: 500 },
    RangeError,
    /current value is 1000 \(the default\); set heartbeatInterval to at most a quarter/,
  ],
];

for (const [label, options, kind, message] of BAD) {
  test(`resolveOptions() rejects ${label}`, () => {
    assert.throws(() => resolveOptions(options as ClusterOptions), (error: Error) => {
      assert.equal(error.constructor, kind, `${error.name}: ${error.message}`);
      assert.match(error.message, /^Cannot create the cluster: /);
      assert.match(error.message, message);
      return true;
    });
  });
}

test("resolveOptions() never throws while describing an odd value", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const value of [cyclic, Symbol("s"), 10n, () => {}]) {
    assert.throws(() => resolveOptions({ env: { A: value } } as never), TypeError);
    assert.throws(() => resolveOptions({ workers: value } as never), TypeError);
  }
});

test("resolveOptions() fills in every default", () => {
  const o = resolveOptions();
  assert.deepEqual(o, {
    workers: undefined,
    policy: undefined,
    scheduler: undefined,
    trustProxy: false,
    sticky: undefined,
    exec: undefined,
    args: undefined,
    execArgv: undefined,
    env: {},
    cwd: undefined,
    silent: false,
    serialization: "json",
    stdio: undefined,
    uid: undefined,
    gid: undefined,
    maxInFlight: undefined,
    shutdownTimeout: 10_000,
    respawn: DEFAULTS.respawn,
    readiness: "listening",
    readyTimeout: 30_000,
    heartbeatTimeout: 0,
    heartbeatInterval: 1000,
    killTimeout: 5000,
    maxRequests: 0,
    maxMemory: 0,
    reloadConcurrency: 1,
    signals: true,
    strictReloads: false,
    statsInterval: 1000,
    metrics: undefined,
    systemd: true,
    adapter: undefined,
  });
  assert.deepEqual(resolveOptions({}), o, "{} is the same as no options");
});

test("resolveOptions() treats undefined as unset, as spread settings pass it", () => {
  const o = resolveOptions({
    exec: undefined,
    cwd: undefined,
    silent: undefined,
    respawn: undefined,
  });
  assert.equal(o.silent, false);
  assert.deepEqual(o.respawn, DEFAULTS.respawn);
});

test("resolveOptions() keeps good values and completes nested respawn options", () => {
  const o = resolveOptions({
    workers: 0,
    policy: "reuse-port",
    exec: "./worker.ts",
    args: ["--port", "8000"],
    execArgv: [],
    env: { A: "1" },
    respawn: { maxRestarts: 2, base: 10 },
    heartbeatTimeout: 500,
    heartbeatInterval: 100,
    stdio: ["pipe", "inherit", "inherit", "ipc"],
    strictReloads: true,
  });
  assert.equal(o.workers, 0);
  assert.equal(o.policy, "reuse-port");
  assert.deepEqual(o.args, ["--port", "8000"]);
  assert.deepEqual(o.respawn, { ...DEFAULTS.respawn, maxRestarts: 2, base: 10 });
  assert.equal(o.strictReloads, true);
  assert.equal(resolveOptions({ respawn: false }).respawn, false);
  assert.deepEqual(resolveOptions({ respawn: true }).respawn, DEFAULTS.respawn);
});

test("resolveOptions() allows heartbeatInterval 0 when nothing reads heartbeats", () => {
  assert.equal(resolveOptions({ heartbeatInterval: 0 }).heartbeatInterval, 0);
});

test("resolveOptions() copies arrays and env, so later changes by the caller do not leak in", () => {
  const args = ["a"];
  const env = { A: "1" };
  const o = resolveOptions({ args, env });
  args.push("b");
  env.A = "2";
  assert.deepEqual(o.args, ["a"]);
  assert.deepEqual(o.env, { A: "1" });
});

test("DEFAULTS cannot be changed", () => {
  assert.ok(Object.isFrozen(DEFAULTS));
  assert.ok(Object.isFrozen(DEFAULTS.respawn));
});

test("checkEnv() names where, the variable and the value", () => {
  assert.throws(
    () => checkEnv("Cannot fork", "env", { PORT: 1 }),
    {
      name: "TypeError",
      message: `Cannot fork: 'env.PORT' must be a string: current value is 1; write "1"`,
    },
  );
  assert.throws(() => checkEnv("Cannot fork", "env", "A=1"), /'env' must be an object of strings/);
  assert.deepEqual(checkEnv("Cannot fork", "env", { A: "1" }), { A: "1" });
});
