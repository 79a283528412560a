// Shared helpers of the benchmark harness (bench/run.ts, bench/_reload.ts): which runtime binaries
// to run, children in their own process groups (scripts/_process.ts) that are killed on every path
// out, JSON lines read from a child's stdout, and CPU time read from /proc. Runs under the pinned
// Node (the orchestrator); the per-runtime scripts do not import it.

import { type ChildProcess, execFileSync, type SpawnOptions } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { groupMembers, killGroup, spawnGroup, stopGroup } from "../scripts/_process.ts";

export { freePort } from "../scripts/_ports.ts";

/** This directory (bench/) and the repository root. */
export const HERE: string = dirname(fileURLToPath(import.meta.url));
export const ROOT: string = dirname(HERE);

export type Runtime = "node" | "deno" | "bun";
export const RUNTIMES: Runtime[] = ["node", "deno", "bun"];

/**
 * The pinned binary from node_modules/.bin, or the one on PATH.
 *
 * @example
 * ```ts
 * binary("deno"); // "/…/node_modules/.bin/deno"
 * ```
 */
export function binary(runtime: Runtime): string {
  const pinned = join(ROOT, "node_modules", ".bin", runtime);
  return existsSync(pinned) ? pinned : runtime;
}

/**
 * The command that runs a bench script under `runtime`. Deno gets `-A --unstable-net`: Deno.serve
 * with `reusePort` needs the flag, for ours and for the bare servers alike.
 *
 * @example
 * ```ts
 * const [file, args] = command("deno", "_ipc.ts", ["{}"]);
 * ```
 */
export function command(runtime: Runtime, file: string, args: string[] = []): [string, string[]] {
  const path = join(HERE, file);
  if (runtime === "deno") return [binary("deno"), ["run", "-A", "--unstable-net", path, ...args]];
  return [binary(runtime), [path, ...args]];
}

/**
 * `sleep(ms)` as a promise.
 *
 * @example
 * ```ts
 * await sleep(100);
 * ```
 */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Every process group we started and have not yet seen gone; SIGKILLed on every way out.
const groups = new Set<number>();

/** SIGKILLs every group still registered (also called on exit and on SIGINT/SIGTERM/SIGHUP). */
export function killAll(): void {
  for (const pgid of groups) killGroup(pgid, "SIGKILL");
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
 * Process groups registered and still alive (a clean run ends with none).
 *
 * @example
 * ```ts
 * if (liveGroups().length) console.error("leftovers");
 * ```
 */
export function liveGroups(): number[] {
  return [...groups].filter((pgid) => groupMembers(pgid).length > 0);
}

/**
 * A child in its own process group, with its stdout read as JSON lines (other lines ignored).
 *
 * @example
 * ```ts
 * const proc = new Proc("node", ["bench/_ipc.ts", "{}"], "ipc");
 * const result = await proc.next<{ sizes: unknown }>(60_000, "a result");
 * await proc.stop();
 * ```
 */
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
    this.child = spawnGroup(file, args, {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      ...options,
    });
    groups.add(this.child.pid!);
    this.child.stdin!.on("error", () => {});
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-8000);
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
    // "close", not "exit": the last stdout chunk may arrive after "exit".
    this.child.once("close", (code, signal) => {
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

  /** The last 8000 characters the child wrote to stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  #error(message: string): Error {
    const tail = this.#stderr.trim();
    return new Error(`${this.what}: ${message}${tail ? `\n${tail.slice(-1500)}` : ""}`);
  }

  /** Writes one line to the child's stdin. */
  write(line: string): void {
    if (this.child.stdin?.writable) this.child.stdin.write(`${line}\n`);
  }

  /** Sends `signal` to the child itself (not its group). */
  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }

  /** SIGTERM to the group, SIGKILL to what is left after `graceMs`; waits until it is gone. */
  async stop(graceMs = 2000): Promise<void> {
    const pgid = this.child.pid!;
    this.child.stdin?.end();
    const survivors = await stopGroup(pgid, graceMs);
    if (survivors.length) console.error(`warning: ${this.what}: still alive: ${survivors}`);
    else groups.delete(pgid);
  }
}

// Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux).
let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/**
 * CPU seconds (user + system) that process `pid` has used so far, from /proc/<pid>/stat (NaN
 * where there is no /proc or the process is gone). `stat` may be given when read elsewhere.
 *
 * @example
 * ```ts
 * const before = cpuSeconds(process.pid);
 * ```
 */
export function cpuSeconds(pid: number, stat?: string): number {
  try {
    const text = stat ?? readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after "pid (comm) ": state is field 3, utime 14 and stime 15 (1-based).
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** CPU seconds of each live member of a process group at one moment. */
export type TreeCpu = Map<number, number>;

/**
 * The CPU seconds of every live member of group `pgid` now.
 *
 * @example
 * ```ts
 * const before = treeCpu(server.child.pid!);
 * ```
 */
export function treeCpu(pgid: number): TreeCpu {
  return new Map(groupMembers(pgid).map((pid) => [pid, cpuSeconds(pid)]));
}

/**
 * CPU used between two snapshots of a group, in % of one core over `seconds`: the root (the
 * group leader) apart from the rest. Processes that came or went between them are left out.
 *
 * @example
 * ```ts
 * const { root, others } = cpuShare(before, treeCpu(pgid), pgid, 2);
 * ```
 */
export function cpuShare(
  before: TreeCpu,
  after: TreeCpu,
  pgid: number,
  seconds: number,
): { root: number; others: number } {
  let root = NaN;
  let others = 0;
  for (const [pid, t1] of after) {
    const t0 = before.get(pid);
    if (t0 === undefined) continue;
    const share = ((t1 - t0) / seconds) * 100;
    if (pid === pgid) root = share;
    else others += share;
  }
  return { root, others };
}

/**
 * CPU seconds the whole machine has been busy (all cores: user, nice, system, irq, softirq,
 * steal), from /proc/stat; NaN without /proc.
 *
 * @example
 * ```ts
 * const busy0 = machineCpuSeconds();
 * ```
 */
export function machineCpuSeconds(): number {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "latin1")
      .split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

// Max CPU seconds seen per descendant process (any depth, across process groups and network
// namespaces), sampled from /proc while the harness runs: the processes it started, even those
// whose CPU never reaches its cutime because they were reparented when killed.
const descendants = new Map<number, number>();
let sampler: ReturnType<typeof setInterval> | undefined;

function sampleDescendants(): void {
  const children = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  let names: string[];
  try {
    names = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return;
  }
  for (const name of names) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(name));
      cpu.set(Number(name), cpuSeconds(0, stat));
    } catch { /* exited meanwhile */ }
  }
  const queue = [...(children.get(process.pid) ?? [])];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    descendants.set(pid, Math.max(descendants.get(pid) ?? 0, cpu.get(pid) ?? 0));
    queue.push(...(children.get(pid) ?? []));
  }
}

/**
 * Starts sampling the CPU of every process this one starts (every 500 ms), for
 * {@linkcode ownCpuSeconds}.
 *
 * @example
 * ```ts
 * trackOwnCpu();
 * ```
 */
export function trackOwnCpu(): void {
  sampler ??= setInterval(sampleDescendants, 500);
  sampler.unref();
}

/**
 * CPU seconds of this process and of the descendants sampled since {@linkcode trackOwnCpu}: the
 * harness's own share of the machine (a process's last half second may be missed).
 *
 * @example
 * ```ts
 * const mine = ownCpuSeconds();
 * ```
 */
export function ownCpuSeconds(): number {
  sampleDescendants();
  let total = cpuSeconds(process.pid);
  for (const seconds of descendants.values()) total += seconds;
  return total;
}
