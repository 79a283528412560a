// Test helpers for the x-cluster command line: start cli.ts as a user would (a real process of
// the runtime running the tests, in its own process group), read its output lines, ask its
// workers over HTTP who they are, and end it, killing the whole group on every path.

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { groupMembers, killGroup, spawnGroup, waitForGroup } from "../scripts/_process.ts";
import { runtime } from "./_helpers.ts";

/** The CLI module, as `x-cluster` runs it. */
export const CLI: string = fileURLToPath(new URL("../cli.ts", import.meta.url));

/**
 * The command that runs the CLI with `args` under this runtime (Deno: `deno run -A`).
 *
 * @example
 * ```ts
 * import { cliCommand } from "./_cli.ts";
 * const { file, args } = cliCommand(["--help"]); // e.g. node …/cli.ts --help
 * ```
 */
export function cliCommand(args: readonly string[]): { file: string; args: string[] } {
  const lead = runtime === "deno" ? ["run", "-A", CLI] : [CLI];
  return { file: process.execPath, args: [...lead, ...args] };
}

/** How a CLI run ended. */
export interface Exit {
  code: number | null;
  signal: string | null;
}

/**
 * A running `x-cluster`: every line it wrote (stdout and stderr, in order), its exit, and the
 * live members of its process group. Prefer {@linkcode withCli}, which always kills it.
 *
 * @example
 * ```ts ignore
 * import { CliRun } from "./_cli.ts";
 * const run = new CliRun(["-w", "2", "server.js"], { PORT: "8000" });
 * try {
 *   await run.waitForLine(/workers ready/);
 * } finally {
 *   run.kill();
 * }
 * ```
 */
export class CliRun {
  readonly child: ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** stdout and stderr lines together, in the order they arrived. */
  readonly lines: string[] = [];
  #waiters: Array<() => void> = [];
  #exit: Promise<Exit>;

  constructor(args: readonly string[], env: Record<string, string> = {}, cwd?: string) {
    const { file, args: argv } = cliCommand(args);
    // Its own XDG_RUNTIME_DIR (unless the test gives one), so that its default control socket
    // never meets another run's or a user's; removed when it exits.
    const runtimeDir = mkdtempSync(path.join(tmpdir(), "x-cluster-test-"));
    this.child = spawnGroup(file, argv, {
      cwd,
      env: { ...process.env, NO_COLOR: "1", XDG_RUNTIME_DIR: runtimeDir, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (
      const [stream, sink] of [[this.child.stdout!, this.stdout], [
        this.child.stderr!,
        this.stderr,
      ]] as const
    ) {
      let buffer = "";
      stream.setEncoding("utf8").on("data", (chunk: string) => {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf("\n")) !== -1) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          sink.push(line);
          this.lines.push(line);
        }
        this.#wake();
      });
    }
    this.#exit = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => {
        rmSync(runtimeDir, { recursive: true, force: true });
        resolve({ code, signal });
        this.#wake();
      })
    );
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** The process group's id (the CLI's pid). */
  get pgid(): number {
    return this.child.pid!;
  }

  /** Waits for the first line after line `from` that matches `pattern`; returns it. */
  async waitForLine(pattern: RegExp, { from = 0, timeout = 20_000 } = {}): Promise<string> {
    const deadline = Date.now() + timeout;
    let exited = false;
    this.#exit.then(() => (exited = true));
    while (true) {
      const found = this.lines.slice(from).find((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (exited || Date.now() > deadline) {
        throw new Error(
          `${exited ? "x-cluster exited" : "timed out"} before a line matched ${pattern}:\n` +
            this.lines.slice(-40).join("\n"),
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(200, Math.max(0, deadline - Date.now())));
        this.#waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** Resolves with the CLI's exit, or rejects after `timeout` ms. */
  exited(timeout = 30_000): Promise<Exit> {
    let timer: ReturnType<typeof setTimeout>;
    return Promise.race([
      this.#exit,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`x-cluster did not exit in ${timeout} ms:\n${this.text().slice(-3000)}`),
            ),
          timeout,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Sends `signal` to the CLI (the primary) only. */
  signal(signal: NodeJS.Signals): void {
    process.kill(this.pgid, signal);
  }

  /** Waits until no process of the group is alive; returns the survivors after `timeout`. */
  leftBehind(timeout = 5000): Promise<number[]> {
    return waitForGroup(this.pgid, timeout);
  }

  /** The live members of the group now. */
  members(): number[] {
    return groupMembers(this.pgid);
  }

  /** Everything it wrote. */
  text(): string {
    return this.lines.join("\n");
  }

  /** Kills the whole process group. Safe to call twice. */
  kill(): void {
    if (this.child.pid !== undefined) killGroup(this.child.pid);
  }
}

/**
 * Runs `fn` with `x-cluster args` started and always kills its process group; a failure's
 * message gets the end of its output.
 *
 * @example
 * ```ts ignore
 * import { withCli } from "./_cli.ts";
 * await withCli(["-w", "2", "server.js"], { PORT: "8000" }, async (run) => {
 *   await run.waitForLine(/workers ready/);
 * });
 * ```
 */
export async function withCli<T>(
  args: readonly string[],
  env: Record<string, string>,
  fn: (run: CliRun) => Promise<T>,
  cwd?: string,
): Promise<T> {
  const run = new CliRun(args, env, cwd);
  try {
    return await fn(run);
  } catch (error) {
    (error as Error).message += `\nx-cluster output:\n${run.text().slice(-4000)}`;
    throw error;
  } finally {
    run.kill();
  }
}

/**
 * Runs `x-cluster args` to its end (it must exit by itself); resolves with its exit and output.
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./_cli.ts";
 * const { code, stderr } = await runCli(["--workers", "x", "server.js"]);
 * ```
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  cwd?: string,
  timeout = 30_000,
): Promise<Exit & { stdout: string; stderr: string; run: CliRun }> {
  return withCli(args, env, async (run) => {
    const exit = await run.exited(timeout);
    return { ...exit, stdout: run.stdout.join("\n"), stderr: run.stderr.join("\n"), run };
  }, cwd);
}

/**
 * One HTTP GET on a new connection to 127.0.0.1:`port`: the body (the fixtures answer with
 * their pid), failing after 5 s.
 *
 * @example
 * ```ts ignore
 * import { ask } from "./_cli.ts";
 * console.log(await ask(8000)); // "express 1234"
 * ```
 */
export async function ask(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    headers: { connection: "close" },
    signal: AbortSignal.timeout(5000),
  });
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  return await response.text();
}

/**
 * Asks `port` until `count` distinct pids answered (at most `tries` requests); returns them.
 *
 * @example
 * ```ts ignore
 * import { distinctPids } from "./_cli.ts";
 * const pids = await distinctPids(8000, 2); // [1234, 1235]
 * ```
 */
export async function distinctPids(port: number, count: number, tries = 200): Promise<number[]> {
  const pids = new Set<number>();
  for (let i = 0; i < tries && pids.size < count; i++) {
    const pid = Number(/(\d+)\s*$/.exec(await ask(port))?.[1]);
    if (Number.isInteger(pid)) pids.add(pid);
  }
  return [...pids];
}
