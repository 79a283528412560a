// `npm test`: static checks (tsc, deno check/lint/doc, deno publish --dry-run), the architecture
// check, the test suite under node, deno and bun, and the npm build.
import { type ChildProcess, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { delimiter, dirname, join, sep } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { groupMembers, killGroup, spawnGroup } from "./_process.ts";
import { checkArchitecture } from "./check_architecture.ts";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const BIN = join(ROOT, "node_modules", ".bin");
const WATCHDOG_SECONDS = Number(process.env.TEST_WATCHDOG_SECONDS) || 15 * 60;
const STEPS = ["static", "arch", "node", "deno", "bun", "npm"] as const;
const PUBLISH_DRY_RUN = ["publish", "--dry-run", "--allow-dirty", "--no-check"];
type Step = typeof STEPS[number];

/** One line of the final summary: a runtime's test counts, or a step counted as 1 passed or 1 failed. */
interface Result {
  label: string;
  passed: number;
  failed: number;
  seconds: number;
  runtime: boolean;
  note?: string;
}

// Every child gets the pinned runtimes first on PATH.
const env = { ...process.env, PATH: BIN + delimiter + (process.env.PATH ?? "") };
const results: Result[] = [];
let current: ChildProcess | undefined;
let timedOut = false;

function usage(message?: string): never {
  if (message) console.error(message);
  console.error(`usage: node scripts/test.ts [--only ${STEPS.join(",")}]`);
  process.exit(2);
}

function parseArgs(argv: string[]): Set<Step> {
  let only: string[] = [...STEPS];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--only") only = (argv[++i] ?? "").split(",");
    else if (arg.startsWith("--only=")) only = arg.slice("--only=".length).split(",");
    else if (arg === "--help" || arg === "-h") usage();
    else usage(`unknown argument: ${arg}`);
  }
  const names = only.map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((s) => !(STEPS as readonly string[]).includes(s));
  if (unknown.length || !names.length) usage(`unknown or empty step list: ${unknown.join(",")}`);
  return new Set(names as Step[]);
}

/** Runs a command in its own process group, streaming its output through and keeping it for parsing. */
function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  console.log(`\n$ ${[cmd, ...args].join(" ")}`);
  return new Promise((resolve) => {
    const child = spawnGroup(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    current = child;
    let output = "";
    const pipes = [[child.stdout!, process.stdout], [child.stderr!, process.stderr]] as const;
    for (const [from, to] of pipes) {
      from.setEncoding("utf8");
      from.on("data", (text: string) => {
        to.write(text);
        output += text;
      });
    }
    const done = (code: number) => {
      current = undefined;
      resolve({ code, output });
    };
    child.on("error", (err) => {
      output += String(err);
      done(127);
    });
    // Processes the command left behind (e.g. leaked workers) would hold ports and pipes: kill them.
    child.on("exit", () => {
      const left = child.pid === undefined ? [] : groupMembers(child.pid);
      if (left.length && killGroup(child.pid!)) {
        console.error(
          `warning: \`${cmd}\` left processes running (${left.join(", ")}); killed them`,
        );
      }
    });
    child.on(
      "close",
      (code, signal) => done(code ?? 128 + (signal ? constants.signals[signal] : 0)),
    );
  });
}

function lastNumber(text: string, re: RegExp): number | undefined {
  const all = [...text.matchAll(re)];
  return all.length ? Number(all[all.length - 1][1]) : undefined;
}

type Counts = { passed: number; failed: number } | undefined;
type Parser = (output: string) => Counts;

/** node --test (spec reporter): `ℹ pass N`, `ℹ fail N`; timed-out tests are `cancelled`, counted as failed. */
function parseNode(out: string): Counts {
  const passed = lastNumber(out, /^\s*ℹ pass (\d+)\s*$/gm);
  const failed = lastNumber(out, /^\s*ℹ fail (\d+)\s*$/gm);
  const cancelled = lastNumber(out, /^\s*ℹ cancelled (\d+)\s*$/gm) ?? 0;
  return passed === undefined || failed === undefined
    ? undefined
    : { passed, failed: failed + cancelled };
}

/**
 * deno test: `ok | 2 passed (4 steps) | 1 failed (1 step) | …`. Deno runs each top-level node:test
 * test() or describe() as a test and everything nested in it (it(), t.test()) as a step. We count
 * tests plus steps, i.e. every node of the tree deno prints, so a failing it() inside a describe()
 * counts twice (the step and its describe). Skipped/todo tests are "ignored" and not counted.
 */
function parseDeno(out: string): Counts {
  const all = [
    ...out.matchAll(
      /^(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/gm,
    ),
  ];
  const m = all.at(-1);
  if (!m) return undefined;
  const n = (s: string | undefined) => Number(s ?? 0);
  return { passed: n(m[1]) + n(m[2]), failed: n(m[3]) + n(m[4]) };
}

/** bun test: ` N pass`, ` N fail` (bun runs t.test() subtests but does not count them). */
function parseBun(out: string): Counts {
  const passed = lastNumber(out, /^\s*(\d+) pass\s*$/gm);
  const failed = lastNumber(out, /^\s*(\d+) fail\s*$/gm);
  return passed === undefined || failed === undefined ? undefined : { passed, failed };
}

const PARSERS = { node: parseNode, deno: parseDeno, bun: parseBun };

function stripAnsi(text: string): string {
  // deno colours its output even into a pipe
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

function version(cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, {
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return out.split("\n")[0].replace(/^(deno |v)/, "").split(" ")[0].trim();
  } catch {
    return "unavailable";
  }
}

/** All tests/**\/*_test.ts as "./tests/…" (the "./" makes bun take them as paths, not name filters). */
function testFiles(): string[] {
  const files = readdirSync(join(ROOT, "tests"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith("_test.ts") && !f.split(sep).includes("node_modules"))
    .map((f) => "./tests/" + f.split(sep).join("/"));
  return files.sort();
}

/** The files deno.json exports (mod.ts always included), as paths relative to the root. */
function exportEntries(): string[] {
  const entries = new Set(["mod.ts"]);
  try {
    const exports = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).exports;
    const list: unknown[] = typeof exports === "string" ? [exports] : Object.values(exports ?? {});
    for (const e of list) if (typeof e === "string") entries.add(e.replace(/^\.\//, ""));
  } catch (err) {
    console.error(`warning: could not read deno.json exports: ${err}`);
  }
  return [...entries];
}

async function step(label: string, cmd: string, args: string[]): Promise<void> {
  const start = performance.now();
  const { code } = await run(cmd, args);
  const ok = code === 0;
  results.push({
    label,
    passed: ok ? 1 : 0,
    failed: ok ? 0 : 1,
    seconds: seconds(start),
    runtime: false,
  });
}

async function runTests(label: string, cmd: string, args: string[], parse: Parser) {
  const start = performance.now();
  const { code, output } = await run(cmd, args);
  const counts = parse(stripAnsi(output));
  const { passed } = counts ?? { passed: 0 };
  let failed = counts?.failed ?? 0;
  let note: string | undefined;
  // No counts, or a non-zero exit with no failure counted: the runner itself counts as 1 failure.
  if (!counts || (code !== 0 && failed === 0)) {
    const why = counts ? "" : "no test counts found in the output; ";
    note = `${why}exit code ${code}, counted as 1 failure`;
    failed = Math.max(failed, 1);
  }
  results.push({
    label,
    passed,
    failed,
    seconds: seconds(start),
    runtime: true,
    note,
  });
}

/** Records a step that failed without running anything. */
function fail(label: string, why: string): void {
  console.error(`\n${label}: ${why}: FAILED`);
  results.push({ label, passed: 0, failed: 1, seconds: 0, runtime: false, note: why });
}

async function architecture(): Promise<void> {
  const start = performance.now();
  console.log("\n$ architecture check (scripts/check_architecture.ts)");
  let failed = 1;
  try {
    const violations = await checkArchitecture(ROOT);
    for (const v of violations) console.log(`${v.file}:${v.line}: [${v.rule}] ${v.text}`);
    failed = violations.length ? 1 : 0;
  } catch (err) {
    console.error(err);
  }
  const label = "arch: src/ is runtime-agnostic and acyclic";
  results.push({ label, passed: 1 - failed, failed, seconds: seconds(start), runtime: false });
}

function npmBuild(): Promise<void> | void {
  const label = "npm: npm run build:npm";
  if (!existsSync(join(ROOT, "build_npm.ts"))) return fail(label, "build_npm.ts does not exist");
  return step(label, "npm", ["run", "build:npm"]);
}

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

async function main(): Promise<void> {
  const selected = parseArgs(process.argv.slice(2));
  const watchdog = setTimeout(() => {
    timedOut = true;
    console.error(`\nwatchdog: the run took over ${WATCHDOG_SECONDS} s; killing the running step`);
    if (current?.pid !== undefined) killGroup(current.pid);
    setTimeout(() => process.exit(1), 30_000).unref(); // in case the step still does not end
  }, WATCHDOG_SECONDS * 1000);
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(signal, () => {
      if (current?.pid !== undefined) killGroup(current.pid);
      process.exit(code);
    });
  }

  const versions = {
    node: version("node", ["--version"]),
    deno: version("deno", ["--version"]),
    bun: version("bun", ["--version"]),
  };
  for (const [name, ver] of Object.entries(versions)) {
    const where = existsSync(join(BIN, name))
      ? join(BIN, name)
      : "from PATH (not in node_modules/.bin!)";
    console.log(`${name} ${ver}  ${where}`);
  }
  const files = testFiles();
  const entries = exportEntries();

  // --node-modules-dir=manual: type-check against the node_modules that npm installed. Without it deno
  // resolves every package.json dependency itself (all platforms' optional binaries included), which
  // fails when the registry lacks one of them.
  const deno = ["--node-modules-dir=manual", ...entries];
  const plan: [Step, () => Promise<void> | void][] = [
    ["static", () => step("static: type-check (tsc)", "tsc", ["-p", "tsconfig.json"])],
    ["static", () => step("static: deno check", "deno", ["check", ...deno])],
    ["static", () => step("static: deno lint", "deno", ["lint"])],
    ["static", () => step("static: deno doc --lint", "deno", ["doc", "--lint", ...deno])],
    // What only publishing checks: slow types in the public API, published files that import
    // excluded ones, the include/exclude lists. Offline. --no-check: `deno check` above already
    // type-checked the same entries; --allow-dirty: a work tree with uncommitted edits.
    ["static", () => step("static: deno publish --dry-run", "deno", PUBLISH_DRY_RUN)],
    ["arch", architecture],
    ["node", () => runtime("node", ["--test", "--test-concurrency=1", "--test-reporter=spec"])],
    ["deno", () => runtime("deno", ["test", "-A", "--no-check"])],
    ["bun", () => runtime("bun", ["test", "--timeout", "60000"])],
    ["npm", npmBuild],
  ];
  const runtime = (name: "node" | "deno" | "bun", args: string[]) =>
    files.length
      ? runTests(`${name} ${versions[name]}`, name, [...args, ...files], PARSERS[name])
      : fail(`${name} ${versions[name]}`, "no tests/**/*_test.ts files found");

  for (const [name, action] of plan) {
    if (timedOut) break;
    if (selected.has(name)) await action();
  }
  clearTimeout(watchdog);
  if (timedOut) {
    results.push({
      label: "watchdog",
      passed: 0,
      failed: 1,
      seconds: WATCHDOG_SECONDS,
      runtime: false,
      note: "timed out; later steps not run",
    });
  }

  console.log("\n=== summary");
  for (const r of results) {
    const time = `(${r.seconds.toFixed(1)} s)`;
    const what = r.runtime
      ? `${r.passed} passed, ${r.failed} failed ${time}`
      : `${r.failed ? "FAILED" : "ok"} ${time}`;
    console.log(`${r.label}: ${what}${r.note ? ` - ${r.note}` : ""}`);
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed || !results.length ? 1 : 0;
}

await main();
