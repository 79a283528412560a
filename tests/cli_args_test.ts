// x-cluster's command line and config files: --help lists every option with its default (the
// core's, where the option is the core's), a bad option or value exits 2 with one line saying
// what is wrong and what would be right, and x-cluster.json, package.json's "x-cluster" key and
// --env reach the workers of a real run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseCommandLine } from "../cli/_args.ts";
import { OPTIONS } from "../cli/_options.ts";
import { nodeTooOld } from "../cli/_runtime.ts";
import { VERSION } from "../cli/_version.ts";
import { DEFAULTS } from "../src/options.ts";
import { freePort } from "../scripts/_ports.ts";
import { ask, distinctPids, runCli, withCli } from "./_cli.ts";
import { fixture, runtime } from "./_helpers.ts";

test("--help lists every option with its default and exits 0", async () => {
  const { code, stdout } = await runCli(["--help"]);
  assert.equal(code, 0);
  for (const option of OPTIONS) {
    const names = option.value ? `--${option.flag} ${option.value}` : `--no-${option.flag}`;
    assert.ok(stdout.includes(names), `--help lacks ${names}`);
  }
  for (const own of ["--config <file>", "--help", "--version"]) assert.ok(stdout.includes(own));
  // Each option's help ends with its default; the text wraps, so compare without line breaks.
  const flat = stdout.replace(/\s+/g, " ");
  for (const option of OPTIONS) {
    assert.ok(flat.includes(`(default: ${option.default})`), `no default for --${option.flag}`);
  }
});

test("the defaults --help shows are the core's", () => {
  const core = DEFAULTS as unknown as Record<string, unknown>;
  let compared = 0;
  for (const option of OPTIONS) {
    // (respawn is an object in the core, on/off here; workers and policy have no core default.)
    if (!(option.key in core) || typeof core[option.key] === "object") continue;
    const value = core[option.key];
    const shown = typeof value === "boolean" ? (value ? "on" : "off") : String(value);
    assert.equal(option.default.split(" ")[0], shown, `--${option.flag}`);
    compared++;
  }
  assert.ok(compared >= 7, `only ${compared} defaults compared`);
});

test("--version prints the version in deno.json", async () => {
  const deno = JSON.parse(readFileSync(new URL("../deno.json", import.meta.url), "utf8"));
  assert.equal(VERSION, deno.version);
  const { code, stdout } = await runCli(["--version"]);
  assert.deepEqual([code, stdout], [0, `x-cluster ${VERSION}`]);
});

const usageErrors: [string[], RegExp][] = [
  [["--bogus", "server.js"], /^x-cluster: unknown option --bogus: usage is x-cluster \[options\]/],
  [
    ["-w", "x", fixture("cli_http.ts")],
    /^x-cluster: --workers must be a positive integer or "auto": got "x"$/,
  ],
  [["--ready-timeout"], /^x-cluster: --ready-timeout needs a value: --ready-timeout <ms>$/],
  [["--respawn=3", "a.js"], /^x-cluster: --respawn takes no value: use --respawn or --no-respawn$/],
  [
    ["--policy", "random", "a.js"],
    /^x-cluster: --policy must be one of round-robin, shared, reuse-port: got "random"$/,
  ],
  [
    ["--env", "NOEQUALS", "a.js"],
    /^x-cluster: --env must be KEY=VALUE, e.g. --env PORT=3000: got "NOEQUALS"$/,
  ],
  [
    ["--max-memory", "lots", "a.js"],
    /^x-cluster: --max-memory must be a size in bytes like 536870912, 512M or 1G: got "lots"$/,
  ],
  [
    ["--metrics", "host:", "a.js"],
    /^x-cluster: --metrics must be a port or host:port, e\.g\. 9100 or 0\.0\.0\.0:9100: got "host:"$/,
  ],
  [[], /^x-cluster: missing <script>: usage is x-cluster \[options\] <script>/],
  [["does-not-exist.js"], /^x-cluster: script not found: .*does-not-exist\.js: give the path/],
];

for (const [args, message] of usageErrors) {
  test(`x-cluster ${args.join(" ")} exits 2 with one line saying what is wrong`, async () => {
    const { code, stdout, stderr } = await runCli(args);
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(stderr, message);
  });
}

test("parseCommandLine() leaves everything after the script to the script", () => {
  const { settings } = parseCommandLine(["-w", "3", "app.js", "--", "-w", "9", "--port", "1"]);
  assert.equal(settings.workers, 3);
  assert.equal(settings.script, "app.js");
  assert.deepEqual(settings.args, ["-w", "9", "--port", "1"]);
  assert.deepEqual(parseCommandLine(["app.js", "--x"]).settings.args, ["--x"]);
});

test("parseCommandLine() takes units and repeated --env / --watch", () => {
  const { settings } = parseCommandLine([
    "--ready-timeout=2s",
    "--max-memory",
    "512M",
    "-e",
    "A=1",
    "--env",
    "B=x=y",
    "--watch",
    "src,lib",
    "--watch",
    "etc",
    "--no-respawn",
    "app.js",
  ]);
  assert.equal(settings.readyTimeout, 2000);
  assert.equal(settings.maxMemory, 512 * 1024 ** 2);
  assert.deepEqual(settings.env, { A: "1", B: "x=y" });
  assert.deepEqual(settings.watch, ["src", "lib", "etc"]);
  assert.equal(settings.respawn, false);
});

/** A temporary directory with `files` in it; removed by the returned function. */
function directory(files: Record<string, unknown>): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "x-cluster-cli-"));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), JSON.stringify(content));
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

for (const file of ["x-cluster.json", "package.json"]) {
  test(`settings in ${file} configure a run started with no arguments`, async () => {
    const port = await freePort();
    const settings = {
      workers: 2,
      script: fixture("cli_http.ts"),
      env: { PORT: String(port), GREETING: "from-config" },
    };
    const { dir, remove } = directory({
      [file]: file === "package.json" ? { name: "app", "x-cluster": settings } : settings,
    });
    try {
      await withCli([], {}, async (run) => {
        await run.waitForLine(/2 workers ready/);
        assert.match(await ask(port), /^from-config \d+$/);
        assert.equal((await distinctPids(port, 2)).length, 2);
        run.signal("SIGTERM");
        assert.equal((await run.exited()).code, 0);
      }, dir);
    } finally {
      remove();
    }
  });
}

test("the command line wins over the config file, and --env is merged per variable", async () => {
  const port = await freePort();
  const { dir, remove } = directory({
    "x-cluster.json": { workers: 3, env: { PORT: String(port), GREETING: "file" } },
  });
  try {
    const args = ["-w", "1", "--env", "GREETING=flag", fixture("cli_http.ts")];
    await withCli(args, {}, async (run) => {
      await run.waitForLine(/1 worker ready/);
      assert.match(await ask(port), /^flag \d+$/);
      run.signal("SIGTERM");
      assert.equal((await run.exited()).code, 0);
    }, dir);
  } finally {
    remove();
  }
});

test("a bad config file exits 2 naming the file and the key", async () => {
  const { dir, remove } = directory({ "x-cluster.json": { workers: 0, script: "a.js" } });
  try {
    const { code, stderr } = await runCli([], {}, dir);
    assert.equal(code, 2);
    assert.equal(
      stderr,
      'x-cluster: x-cluster.json: "workers" must be a positive integer or "auto": got 0',
    );
    writeFileSync(path.join(dir, "x-cluster.json"), JSON.stringify({ wrokers: 2 }));
    const unknown = await runCli([], {}, dir);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /^x-cluster: x-cluster\.json: unknown key "wrokers": the keys are workers, /,
    );
  } finally {
    remove();
  }
});

test("nodeTooOld() refuses Node before 20.16, saying what to do", () => {
  assert.match(
    nodeTooOld("20.15.1")!,
    /^x-cluster needs Node >= 20\.16 .*: this is Node 20\.15\.1; upgrade/,
  );
  assert.ok(nodeTooOld("18.20.0"));
  for (const version of ["20.16.0", "20.20.2", "22.0.0", "24.21.0"]) {
    assert.equal(nodeTooOld(version), undefined, version);
  }
});

test("a policy this runtime cannot do exits 2 saying which would work", {
  skip: runtime === "deno" ? false : "only Deno lacks a policy (shared)",
}, async () => {
  const { code, stderr } = await runCli(["-w", "1", "--policy", "shared", fixture("cli_http.ts")], {
    PORT: String(await freePort()),
  });
  assert.equal(code, 2);
  assert.match(
    stderr,
    /could not start: Policy "shared" is not available on deno .*; use "round-robin" or "reuse-port"/,
  );
});
