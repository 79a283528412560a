// Shared helpers of the benchmark harness (bench/run.ts): which runtime binaries to run, process
// groups that are killed on every path out, JSON lines read from a child's stdout, statistics.
// Runs under the pinned Node (the orchestrator); the per-runtime scripts do not import it.

import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

export const HERE: string = dirname(fileURLToPath(import.meta.url));
export const ROOT: string = dirname(HERE);

export type Runtime = "node" | "deno" | "bun";
export const RUNTIMES: Runtime[] = ["node", "deno", "bun"];

/** The pinned binary from node_modules/.bin, or the one on PATH. */
export function binary(runtime: Runtime): string {
  const pinned = join(ROOT, "node_modules", ".bin", runtime);
  return existsSync(pinned) ? pinned : runtime;
}

/**
 * The command that runs a bench script under `runtime`. Deno gets `-A --unstable-net`, so that
 * our reuse-port policy and the independent reusePort servers both use Deno.serve.
 */
export function command(runtime: Runtime, file: string, args: string[] = []): [string, string[]] {
  const path = join(HERE, file);
  if (runtime === "deno") return [binary("deno"), ["run", "-A", "--unstable-net", path, ...args]];
  return [binary(runtime), [path, ...args]];
}

// Every process group we started; killed on exit, whatever the path out.
const groups = new Set<number>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch { /* already gone */ }
}

/** Kills every group still registered (also called on exit and on SIGINT/SIGTERM). */
export function killAll(): void {
  for (const pid of groups) killGroup(pid, "SIGKILL");
}
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on("uncaughtException", (error) => {
  console.error(error);
  killAll();
  process.exit(1);
});

/**
 * Whether processes of the group still run. Members that are only zombies (exited, waiting to be
 * reaped by PID 1) do not count: kill(-pgid, 0) alone would report them.
 */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch {
    return false;
  }
  if (!existsSync("/proc/self/stat")) return true;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pid && state !== "Z") return true;
    } catch { /* exited meanwhile */ }
  }
  return false;
}

/** Process groups registered and not yet confirmed dead. */
export function liveGroups(): number[] {
  return [...groups].filter(groupAlive);
}

/** A child in its own process group, with its stdout read as JSON lines. */
export class Proc {
  readonly child: ChildProcess;
  readonly what: string;
  #lines: unknown[] = [];
  #waiters: Array<() => void> = [];
  #buffer = "";
  #stderr = "";
  #exited: string | undefined;

  constructor(file: string, args: string[], what: string, options: SpawnOptions = {}) {
    this.what = what;
    this.child = spawn(file, args, {
      cwd: ROOT,
      detached: true, // own process group, so the whole tree can be killed at once
      stdio: ["pipe", "pipe", "pipe"],
      ...options,
    });
    groups.add(this.child.pid!);
    this.child.stdin!.on("error", () => {});
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    this.child.stdout!.on("data", (chunk: Buffer) => {
      this.#buffer += chunk.toString();
      let nl;
      while ((nl = this.#buffer.indexOf("\n")) >= 0) {
        const line = this.#buffer.slice(0, nl).trim();
        this.#buffer = this.#buffer.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        try {
          this.#lines.push(JSON.parse(line));
        } catch { /* not ours */ }
      }
      this.#wake();
    });
    this.child.once("error", (error) => {
      this.#exited = error.message;
      this.#wake();
    });
    this.child.once("exit", (code, signal) => {
      this.#exited = `exited (${signal ?? code})`;
      this.#wake();
    });
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /** The next JSON line on stdout; rejects on timeout or exit. */
  async next<T>(timeoutMs: number, step = "an answer"): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      if (this.#exited) throw this.#error(`${this.#exited} before ${step}`);
      const left = deadline - Date.now();
      if (left <= 0) throw this.#error(`no ${step} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#lines.shift() as T;
  }

  #error(message: string): Error {
    const tail = this.#stderr.trim();
    return new Error(`${this.what}: ${message}${tail ? `\n${tail.slice(-1500)}` : ""}`);
  }

  /** Writes one line to the child's stdin. */
  write(line: string): void {
    if (this.child.stdin?.writable) this.child.stdin.write(`${line}\n`);
  }

  /** SIGTERM to the group, then SIGKILL to whatever is left; waits until the group is gone. */
  async stop(graceMs = 2000): Promise<void> {
    const pid = this.child.pid!;
    this.child.stdin?.end();
    killGroup(pid, "SIGTERM");
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    killGroup(pid, "SIGKILL");
    for (let i = 0; i < 100 && groupAlive(pid); i++) await sleep(20);
    if (groupAlive(pid)) console.error(`warning: process group ${pid} still alive after SIGKILL`);
    else groups.delete(pid);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
