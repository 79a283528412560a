// Running the build's commands (tsc, npm pack, tar, the smoke programs) in their own process
// groups, with a time limit and a check that they left no process behind; the build's log lines
// and its one error class.

import process from "node:process";
import { killGroup, spawnGroup, waitForGroup } from "../_process.ts";

/** How long a command's workers may take to exit after the command itself did. */
const LEFTOVER_GRACE_MS = 3000;
/** How long to wait for the output still in the pipes once the command exited. */
const OUTPUT_GRACE_MS = 2000;
/** Time limit of a command unless its caller gives one. */
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/**
 * A failure of the build, with the output (of a command, or a list of problems) that explains it.
 *
 * @example
 * ```ts
 * import { BuildError } from "./_run.ts";
 *
 * throw new BuildError("tsc (esm) failed", "src/x.ts(1,1): error TS2307 …");
 * ```
 */
export class BuildError extends Error {
  /** What to show under the message: a command's output or the problems found. */
  readonly output: string;
  constructor(message: string, output = "") {
    super(message);
    this.name = "BuildError";
    this.output = output;
  }
}

/**
 * Prints the heading of a build step.
 *
 * @example
 * ```ts
 * import { step } from "./_run.ts";
 *
 * step("Compiling ES modules");
 * ```
 */
export function step(message: string): void {
  console.log(`\n==> ${message}`);
}

/**
 * Prints a detail line under the current step.
 *
 * @example
 * ```ts
 * import { info } from "./_run.ts";
 *
 * info("npm/esm: 36 .js files");
 * ```
 */
export function info(message: string): void {
  console.log(`    ${message}`);
}

/** Where and how long a command runs. */
export interface RunOptions {
  /** Working directory. */
  cwd: string;
  /**
   * Time limit; past it the command's whole process group is killed.
   * @default {600_000}
   */
  timeoutMs?: number;
  /**
   * Environment of the command.
   * @default {process.env}
   */
  env?: NodeJS.ProcessEnv;
}

/** How a command ended and what it printed. */
export interface RunResult {
  command: string;
  args: string[];
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** The time limit passed and the group was killed. */
  timedOut: boolean;
  timeoutMs: number;
  /** Processes of the command's group still alive after it exited (and then killed). */
  leftovers: number[];
}

/**
 * Runs a command in its own process group and collects its output. On timeout the whole group is
 * killed. A process of the group still running 3 s after the command exited (e.g. an orphaned
 * cluster worker) is reported in `leftovers` and killed.
 *
 * @example
 * ```ts
 * import { run } from "./_run.ts";
 *
 * const result = await run("node", ["--version"], { cwd: "." });
 * console.log(result.code, result.stdout);
 * ```
 */
export async function run(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const child = spawnGroup(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) killGroup(child.pid);
  }, timeoutMs);
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  // Wait for "exit", not "close": an orphaned worker may hold the output pipes open.
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(timer));

  let leftovers: number[] = [];
  if (child.pid !== undefined) {
    leftovers = await waitForGroup(child.pid, LEFTOVER_GRACE_MS);
    if (leftovers.length) killGroup(child.pid);
  }
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, OUTPUT_GRACE_MS))]);
  return { command, args, code, signal, stdout, stderr, timedOut, timeoutMs, leftovers };
}

/**
 * The command line, how it ended and its output, for an error message.
 *
 * @example
 * ```ts
 * import { describeRun, run } from "./_run.ts";
 *
 * console.error(describeRun(await run("false", [], { cwd: "." })));
 * ```
 */
export function describeRun(result: RunResult): string {
  const status = result.timedOut
    ? `timed out after ${result.timeoutMs} ms (process group killed)`
    : `exit code ${result.code}${result.signal ? `, signal ${result.signal}` : ""}`;
  return [
    `$ ${[result.command, ...result.args].join(" ")}`,
    `(${status})`,
    result.leftovers.length
      ? `(processes of its group still running after it exited, e.g. orphaned workers; ` +
        `killed: ${result.leftovers.join(", ")})`
      : "",
    result.stdout.trim() ? `--- stdout ---\n${result.stdout.trimEnd()}` : "",
    result.stderr.trim() ? `--- stderr ---\n${result.stderr.trimEnd()}` : "",
  ].filter(Boolean).join("\n");
}

/**
 * Runs a command and throws a {@linkcode BuildError} with its output unless it exited 0 in time
 * and left no process behind. `what` names the step in the error message.
 *
 * @example
 * ```ts
 * import { runOk } from "./_run.ts";
 *
 * const packed = await runOk("npm pack", "npm", ["pack", "--json"], { cwd: "npm" });
 * console.log(packed.stdout);
 * ```
 */
export async function runOk(
  what: string,
  command: string,
  args: string[],
  options: RunOptions,
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0 || result.timedOut || result.leftovers.length) {
    throw new BuildError(`${what} failed`, describeRun(result));
  }
  return result;
}
