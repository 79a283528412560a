// Connection-churn HTTP benchmark: 2 workers, every request on a new connection
// (`Connection: close`), a handler answering "ok". Runs its variants under the runtime that runs
// this script:
//
//   node bench/churn.ts [--quick]
//   deno run -A bench/churn.ts [--quick]
//   bun bench/churn.ts [--quick]
//
// Variants: our Cluster with round-robin, reuse-port and shared (skipped, with the reason, where
// start() rejects the policy on this runtime), and the runtime's own `node:cluster` with
// round-robin (SCHED_RR) serving node:http. Each measurement starts a fresh server process tree
// (bench/_server_*.ts, same runtime, own process group) and kills the whole group afterwards, on
// every path. The load comes from bench/_client.ts in a separate process, always under the pinned
// Node, so the load generator is the same for every variant and runtime (see that file for why it
// is ours). Variants are interleaved (A B C D, A B C D, ...) so drift hits all of them alike.
// Prints a markdown table: medians with min–max over rounds, and ours/theirs for round-robin.
//
// Options: --quick (2 rounds instead of 3), --rounds N, --duration S (5), --warmup S (1),
// --connections N (32). Not part of `npm test`.
//
// Caveat: the client shares the machine with the server; on a small box (2 cores) it competes
// with the workers for CPU, so absolute numbers are low and noisy. Compare variants of one run.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(HERE);

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const quick = process.argv.includes("--quick");
const ROUNDS = option("rounds", quick ? 2 : 3);
const DURATION_S = option("duration", 5);
const WARMUP_S = option("warmup", 1);
const CONNECTIONS = option("connections", 32);
const READY_TIMEOUT_MS = 20_000;

type DenoLike = { execPath(): string; version: { deno: string } };
const deno = (globalThis as { Deno?: DenoLike }).Deno;
const bunVersion = (process.versions as Record<string, string | undefined>).bun;
const runtime = deno ? "deno" : bunVersion ? "bun" : "node";
const runtimeVersion = deno ? deno.version.deno : bunVersion ?? process.versions.node;
/** The command that runs a .ts file under this same runtime. */
function runtimeCommand(file: string): [string, string[]] {
  if (deno) return [deno.execPath(), ["run", "-A", file]];
  return [process.execPath, [file]];
}
const pinnedNode = join(ROOT, "node_modules", ".bin", "node");
const CLIENT_NODE = existsSync(pinnedNode) ? pinnedNode : "node";

interface Variant {
  name: string;
  server: string;
  env: Record<string, string>;
}
const VARIANTS: Variant[] = [
  { name: "ours round-robin", server: "_server_ours.ts", env: { BENCH_POLICY: "round-robin" } },
  { name: "ours reuse-port", server: "_server_ours.ts", env: { BENCH_POLICY: "reuse-port" } },
  { name: "ours shared", server: "_server_ours.ts", env: { BENCH_POLICY: "shared" } },
  { name: `${runtime} node:cluster round-robin`, server: "_server_node_cluster.ts", env: {} },
];

interface Sample {
  requests: number;
  errors: number;
  errorKinds: Record<string, number>;
  rps: number;
  p50: number;
  p99: number;
}

// Every process group we started; killed again on exit, whatever the path out.
const groups = new Set<number>();
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch { /* already gone */ }
}
/**
 * Whether processes of the group still run. On Linux, members that are only zombies (exited,
 * waiting for PID 1 to reap them) do not count: kill(-pgid, 0) alone would report them.
 */
function groupAlive(pid: number): boolean {
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
process.on("exit", () => {
  for (const pid of groups) killGroup(pid, "SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const pid of groups) killGroup(pid, "SIGKILL");
    process.exit(130);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves with the first JSON line the child prints on stdout. */
function firstJsonLine(child: ChildProcess, timeoutMs: number, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    let stderr = "";
    const timer = setTimeout(() => fail(`${what}: no answer within ${timeoutMs} ms`), timeoutMs);
    const fail = (message: string) => {
      clearTimeout(timer);
      reject(new Error(stderr.trim() ? `${message}\n${stderr.trim().slice(-2000)}` : message));
    };
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const value = JSON.parse(line);
          clearTimeout(timer);
          resolve(value);
          return;
        } catch { /* partial line */ }
      }
    });
    child.once("error", (error) => fail(`${what}: ${error.message}`));
    child.once(
      "exit",
      (code, signal) => fail(`${what} exited (${signal ?? code}) before answering`),
    );
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  const pid = child.pid!;
  killGroup(pid, "SIGTERM");
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  // Whatever is left of the tree (workers included) goes now.
  killGroup(pid, "SIGKILL");
  for (let i = 0; i < 100 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  if (groupAlive(pid)) console.error(`warning: process group ${pid} still alive after SIGKILL`);
  else groups.delete(pid);
}

/** One measurement: fresh server tree, one client run, server tree killed. */
async function measure(variant: Variant): Promise<Sample | { skip: string }> {
  const port = await freePort();
  const [file, args] = runtimeCommand(join(HERE, variant.server));
  const server = spawn(file, args, {
    cwd: ROOT,
    detached: true, // own process group, so the whole tree can be killed at once
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...variant.env, BENCH_PORT: String(port) },
  });
  groups.add(server.pid!);
  try {
    const ready = await firstJsonLine(server, READY_TIMEOUT_MS, `${variant.name} server`) as {
      ready?: boolean;
      skip?: string;
    };
    if (ready.skip) return { skip: ready.skip };
    const client = spawn(
      CLIENT_NODE,
      [
        join(HERE, "_client.ts"),
        String(port),
        String(CONNECTIONS),
        String(WARMUP_S * 1000),
        String(DURATION_S * 1000),
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      const budget = (WARMUP_S + DURATION_S) * 1000 + 15_000;
      return await firstJsonLine(client, budget, `client against ${variant.name}`) as Sample;
    } finally {
      client.kill("SIGKILL");
    }
  } finally {
    await stopServer(server);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (xs: number[], digits: number) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${
    Math.max(...xs).toFixed(digits)
  })`;

const samples = new Map<string, Sample[]>();
const skipped = new Map<string, string>();
const failed = new Map<string, string>();
console.error(
  `churn: ${runtime} ${runtimeVersion}, ${ROUNDS} rounds × ${VARIANTS.length} variants, ` +
    `${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s, client ${CLIENT_NODE}`,
);
for (let round = 1; round <= ROUNDS; round++) {
  for (const variant of VARIANTS) {
    if (skipped.has(variant.name) || failed.has(variant.name)) continue;
    try {
      const result = await measure(variant);
      if ("skip" in result) {
        skipped.set(variant.name, result.skip);
        console.error(`  skip ${variant.name}: ${result.skip}`);
        continue;
      }
      (samples.get(variant.name) ?? samples.set(variant.name, []).get(variant.name)!).push(result);
      console.error(
        `  round ${round} ${variant.name}: ${result.rps.toFixed(0)} req/s, ` +
          `p99 ${result.p99.toFixed(2)} ms, ${result.errors} errors`,
      );
    } catch (error) {
      failed.set(variant.name, (error as Error).message);
      console.error(`  FAILED ${variant.name}: ${(error as Error).message}`);
    }
  }
}

const lines = [
  `### ${runtime} ${runtimeVersion}: connection churn, 2 workers, ${CONNECTIONS} connections, ` +
  `${DURATION_S} s after ${WARMUP_S} s warm-up, ${ROUNDS} rounds`,
  "",
  "| variant | req/s median (min–max) | p99 ms median (min–max) | p50 ms median | errors | rounds |",
  "| --- | ---: | ---: | ---: | ---: | ---: |",
];
for (const variant of VARIANTS) {
  const s = samples.get(variant.name);
  if (s?.length) {
    const errors = s.reduce((n, x) => n + x.errors, 0);
    lines.push(
      `| ${variant.name} | ${spread(s.map((x) => x.rps), 0)} | ${
        spread(s.map((x) => x.p99), 2)
      } | ` +
        `${median(s.map((x) => x.p50)).toFixed(2)} | ${errors} | ${s.length} |`,
    );
  } else {
    const why = skipped.get(variant.name) ?? failed.get(variant.name) ?? "no samples";
    const label = skipped.has(variant.name) ? "skipped" : "failed";
    lines.push(
      `| ${variant.name} | ${label}: ${why.split("\n")[0].replaceAll("|", "\\|")} | | | | 0 |`,
    );
  }
}
const ours = samples.get(VARIANTS[0].name);
const theirs = samples.get(VARIANTS[3].name);
lines.push("");
if (ours?.length && theirs?.length) {
  const rps = median(ours.map((x) => x.rps)) / median(theirs.map((x) => x.rps));
  const p99 = median(ours.map((x) => x.p99)) / median(theirs.map((x) => x.p99));
  lines.push(
    `Round-robin, ours / ${runtime} node:cluster: req/s ×${rps.toFixed(2)}, p99 ×${
      p99.toFixed(2)
    } ` +
      `(medians; req/s above 1 and p99 below 1 favour ours).`,
  );
} else {
  lines.push(`Round-robin ratio not available (a variant has no samples).`);
}
const kinds = [...samples].flatMap(([name, s]) =>
  s.flatMap((x) => Object.entries(x.errorKinds ?? {}).map(([k, n]) => `${name}: ${k} ×${n}`))
);
if (kinds.length) lines.push("", `Errors: ${kinds.join("; ")}`);
console.log(lines.join("\n"));
const leftover = [...groups].filter(groupAlive);
if (leftover.length) console.error(`warning: process groups still alive: ${leftover.join(", ")}`);
process.exit(failed.size ? 1 : 0);
