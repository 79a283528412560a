// The benchmark harness of issue 5: `npm run bench [-- --quick]` (node bench/run.ts). For each
// of Node 24, Deno and Bun it runs ours against that runtime's own alternatives, with the same
// server code and load, and regenerates bench/RESULTS.md, bench/results.json and
// bench/charts/*.svg:
//   1. connection churn   3. fairness (same runs as 1)   5. IPC ping-pong and pipelined
//   2. keep-alive         4. stalled worker               6. startup
// Server trees (bench/_server_*.ts) and the per-runtime scripts (_ipc.ts, _startup.ts) run
// under the runtime being measured, each in its own process group that is killed on every path
// out; the load comes from bench/_client.ts under the pinned Node. Variants alternate within
// each round (A B C …, A B C …), and the report gives medians with min–max over the rounds.
// Benchmarks are not tests: nothing here fails on a number, and `npm test` never runs it.
//
// Options: --quick (2 rounds, short windows: about 2 minutes per runtime), --rounds N,
// --runtimes node,deno,bun, --benches traffic,stall,ipc,startup (a partial run writes
// RESULTS.md only for what it measured), --no-write (print, leave the files alone).

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  binary,
  command,
  freePort,
  HERE,
  killAll,
  liveGroups,
  Proc,
  type Runtime,
  RUNTIMES,
} from "./_lib.ts";
import { type Results, type Sample, writeReport } from "./_report.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const value = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag("quick");
const ROUNDS = Number(value("rounds") ?? (quick ? 2 : 3));
const runtimes = (value("runtimes")?.split(",") ?? RUNTIMES) as Runtime[];
const benches = value("benches")?.split(",") ?? ["traffic", "stall", "ipc", "startup"];
const S = quick
  ? {
    warmupMs: 400,
    churnCount: 10_000,
    keepAliveMs: 1500,
    stallMs: 3000,
    pingMs: 250,
    pipeMs: 400,
  }
  : {
    warmupMs: 1000,
    churnCount: 10_000,
    keepAliveMs: 4000,
    stallMs: 6000,
    pingMs: 1000,
    pipeMs: 1500,
  };
const CONNECTIONS = 32;
const MIGRATE = (() => {
  try {
    return readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim() === "1";
  } catch {
    return false;
  }
})();
const WORKERS = 2;
const STARTUP_N = [1, 2, 4];

export interface Variant {
  id: string;
  label: string;
  ours: boolean;
  server: string;
  env: Record<string, string>;
}

function variants(runtime: Runtime): Variant[] {
  const native = { node: "node:http", deno: "Deno.serve", bun: "Bun.serve" }[runtime];
  // Ours serves the same server code as what it is compared with: node:http (listen()) against
  // node:cluster; for reuse-port the server the independent reusePort servers use. One more
  // variant shows what our fetch bridge (serve() on node:http) costs on top of round-robin.
  const ours = "_server_ours.ts";
  const nc = "_server_node_cluster.ts";
  const reuseApi: Record<string, string> = runtime === "node" ? { BENCH_API: "listen" } : {};
  // Our reuse-port serve() uses Deno.serve / Bun.serve only where the kernel migrates queued
  // connections of a closing listener (tcp_migrate_req=1); elsewhere node:http + fetch bridge.
  const reuseServer = runtime === "node"
    ? "node:http"
    : MIGRATE
    ? native
    : "node:http + fetch bridge";
  const v = (id: string, label: string, server: string, env: Record<string, string>): Variant => ({
    id,
    label,
    ours: id.startsWith("ours"),
    server,
    env,
  });
  return [
    v("ours-rr", "ours round-robin (node:http)", ours, {
      BENCH_POLICY: "round-robin",
      BENCH_API: "listen",
    }),
    v("ours-shared", "ours shared (node:http)", ours, {
      BENCH_POLICY: "shared",
      BENCH_API: "listen",
    }),
    v("ours-reuse", `ours reuse-port (${reuseServer})`, ours, {
      BENCH_POLICY: "reuse-port",
      ...reuseApi,
    }),
    v("ours-rr-fetch", "ours round-robin, serve(fetch)", ours, { BENCH_POLICY: "round-robin" }),
    v("nc-rr", "node:cluster SCHED_RR", nc, { BENCH_SCHED: "rr" }),
    v("nc-none", "node:cluster SCHED_NONE", nc, { BENCH_SCHED: "none" }),
    v("indie", `${WORKERS} × reusePort ${native}`, "_server_reuseport.ts", {}),
    v("single", "1 process node:http", "_server_reuseport.ts", { BENCH_SINGLE: "1" }),
  ];
}

const CLIENT = [binary("node"), join(HERE, "_client.ts")];

interface ClientResult extends Sample {
  errorKinds: Record<string, number>;
}

/** Runs one client against `port` while taking the server root's CPU over the measured window. */
async function load(server: Proc, port: number, options: Record<string, unknown>): Promise<Sample> {
  const client = new Proc(CLIENT[0], [CLIENT[1], JSON.stringify({ port, ...options })], "client");
  try {
    await client.next(30_000, "the end of the warm-up");
    server.write("mark");
    const result = await client.next<ClientResult>(150_000, "a result");
    server.write("cpu");
    const { cpu } = await server.next<{ cpu: number }>(5000, "its CPU use");
    return { ...result, primaryCpu: cpu };
  } finally {
    await client.stop(0);
  }
}

async function startServer(runtime: Runtime, variant: Variant, extra: Record<string, string>) {
  const port = await freePort();
  const [file, args] = command(runtime, variant.server);
  const server = new Proc(file, args, `${runtime} ${variant.label}`, {
    env: {
      ...process.env,
      ...variant.env,
      ...extra,
      BENCH_PORT: String(port),
      BENCH_WORKERS: String(WORKERS),
    },
  });
  const ready = await server.next<{ ready?: true; skip?: string }>(30_000, "ready");
  return { server, port, skip: ready.skip };
}

function log(message: string): void {
  console.error(message);
}

const fmt = (x: number, d = 0) => Number.isFinite(x) ? x.toFixed(d) : "–";

async function traffic(runtime: Runtime, r: Results["runtimes"][string]): Promise<void> {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const v of variants(runtime)) {
      if (r.skipped[v.id] || r.failed[`traffic ${v.id}`]) continue;
      let started;
      try {
        started = await startServer(runtime, v, {});
        if (started.skip) {
          r.skipped[v.id] = started.skip;
          log(`  skip ${v.label}: ${started.skip}`);
          continue;
        }
        const { server, port } = started;
        const churn = await load(server, port, {
          mode: "churn",
          connections: CONNECTIONS,
          warmupMs: S.warmupMs,
          count: S.churnCount,
        });
        const keepalive = await load(server, port, {
          mode: "keepalive",
          connections: CONNECTIONS,
          warmupMs: S.warmupMs,
          durationMs: S.keepAliveMs,
        });
        (r.churn[v.id] ??= []).push(churn);
        (r.keepalive[v.id] ??= []).push(keepalive);
        log(
          `  ${round}/${ROUNDS} ${v.label}: churn ${fmt(churn.rps)} req/s p99 ${
            fmt(churn.p99, 1)
          } ms ` +
            `(client ${fmt(churn.clientCpu)}%, primary ${
              fmt(churn.primaryCpu)
            }%, ${churn.errors} err); ` +
            `keep-alive ${fmt(keepalive.rps)} req/s p99 ${fmt(keepalive.p99, 1)} ms ` +
            `(client ${fmt(keepalive.clientCpu)}%, ${keepalive.errors} err)`,
        );
      } catch (error) {
        r.failed[`traffic ${v.id}`] = (error as Error).message;
        log(`  FAILED ${v.label}: ${(error as Error).message}`);
      } finally {
        await started?.server.stop();
      }
    }
  }
}

async function stall(runtime: Runtime, r: Results["runtimes"][string]): Promise<void> {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const v of variants(runtime)) {
      // The single process has no second worker; the fetch variant routes like ours-rr.
      if (
        v.id === "single" || v.id === "ours-rr-fetch" || r.skipped[v.id] ||
        r.failed[`stall ${v.id}`]
      ) continue;
      let started;
      try {
        started = await startServer(runtime, v, { BENCH_STALL: "1" });
        if (started.skip) {
          r.skipped[v.id] = started.skip;
          continue;
        }
        const sample = await load(started.server, started.port, {
          mode: "churn",
          connections: CONNECTIONS,
          warmupMs: S.warmupMs,
          durationMs: S.stallMs,
        });
        (r.stall[v.id] ??= []).push(sample);
        log(
          `  ${round}/${ROUNDS} stalled ${v.label}: ${fmt(sample.rps)} req/s p99 ${
            fmt(sample.p99, 1)
          } ms ` +
            `p999 ${fmt(sample.p999, 1)} ms, ${sample.errors} err`,
        );
      } catch (error) {
        r.failed[`stall ${v.id}`] = (error as Error).message;
        log(`  FAILED stalled ${v.label}: ${(error as Error).message}`);
      } finally {
        await started?.server.stop();
      }
    }
  }
}

async function ipc(runtime: Runtime, r: Results["runtimes"][string]): Promise<void> {
  const impls = runtime === "bun" ? ["ours", "fork", "bun-spawn"] : ["ours", "fork"];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const serialization of ["json", "advanced"]) {
      for (const impl of impls) {
        const key = `${impl}|${serialization}`;
        if (r.skipped[key] || r.failed[key]) continue;
        const options = { impl, serialization, pingMs: S.pingMs, pipeMs: S.pipeMs };
        const [file, args] = command(runtime, "_ipc.ts", [JSON.stringify(options)]);
        const proc = new Proc(file, args, `${runtime} ipc ${key}`);
        try {
          const out = await proc.next<
            {
              sizes?: Record<string, Results["runtimes"][string]["ipc"][string][string][number]>;
              skip?: string;
            }
          >(60_000, "a result");
          if (out.skip) {
            r.skipped[key] = out.skip;
            log(`  skip ipc ${key}: ${out.skip}`);
            continue;
          }
          for (const [size, figures] of Object.entries(out.sizes!)) {
            ((r.ipc[key] ??= {})[size] ??= []).push(figures);
          }
          log(
            `  ${round}/${ROUNDS} ipc ${key}: ` +
              Object.entries(out.sizes!).map(([size, f]) =>
                `${size} B rtt ${fmt(f.p50)} µs, ${fmt(f.pipePerS)} msg/s`
              ).join("; "),
          );
        } catch (error) {
          r.failed[key] = (error as Error).message;
          log(`  FAILED ipc ${key}: ${(error as Error).message}`);
        } finally {
          await proc.stop();
        }
      }
    }
  }
}

async function startup(runtime: Runtime, r: Results["runtimes"][string]): Promise<void> {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const n of STARTUP_N) {
      for (const variant of ["ours", "node-cluster", "bare"]) {
        if (variant === "bare" && n !== 1) continue; // one boot, whatever N
        const key = `${variant}|${n}`;
        if (r.failed[`startup ${key}`]) continue;
        const [file, args] = command(runtime, "_startup.ts", [variant, String(n)]);
        const proc = new Proc(file, args, `${runtime} startup ${key}`);
        try {
          const { ms } = await proc.next<{ ms: number }>(30_000, "a result");
          (r.startup[key] ??= []).push(ms);
        } catch (error) {
          r.failed[`startup ${key}`] = (error as Error).message;
          log(`  FAILED startup ${key}: ${(error as Error).message}`);
        } finally {
          await proc.stop();
        }
      }
    }
    log(
      `  ${round}/${ROUNDS} startup ms: ` +
        Object.entries(r.startup).map(([k, xs]) => `${k} ${fmt(xs[xs.length - 1])}`).join(", "),
    );
  }
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: join(HERE, ".."), encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

function version(runtime: Runtime): string {
  try {
    const out = execFileSync(binary(runtime), ["--version"], { encoding: "utf8" });
    return /\d+\.\d+\.\d+/.exec(out)?.[0] ?? out.split("\n")[0].trim();
  } catch {
    return "unknown";
  }
}

const results: Results = {
  meta: {
    date: new Date().toISOString(),
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    quick,
    rounds: ROUNDS,
    settings: { ...S, connections: CONNECTIONS, workers: WORKERS },
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    kernel: `${os.type()} ${os.release()}`,
    loadBefore: os.loadavg()[0],
    loadAfter: NaN,
    versions: Object.fromEntries(RUNTIMES.map((rt) => [rt, version(rt)])),
    benches,
    labels: {},
    tcpMigrateReq: MIGRATE,
    commit: git(["rev-parse", "--short", "HEAD"]) +
      (git(["status", "--porcelain", "--", "src", "adapters", "mod.ts"])
        ? " + uncommitted core changes"
        : ""),
  },
  runtimes: {},
};

const began = performance.now();
log(
  `bench: ${runtimes.join(", ")}; ${benches.join(", ")}; ${ROUNDS} rounds${
    quick ? " (quick)" : ""
  }`,
);
for (const runtime of runtimes) {
  const r = (results.runtimes[runtime] = {
    churn: {},
    keepalive: {},
    stall: {},
    ipc: {},
    startup: {},
    skipped: {},
    failed: {},
  });
  results.meta.labels[runtime] = Object.fromEntries(variants(runtime).map((v) => [v.id, v.label]));
  const t = performance.now();
  log(`${runtime} (${results.meta.versions[runtime]})`);
  if (benches.includes("traffic")) await traffic(runtime, r);
  if (benches.includes("stall")) await stall(runtime, r);
  if (benches.includes("ipc")) await ipc(runtime, r);
  if (benches.includes("startup")) await startup(runtime, r);
  log(`${runtime} done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}
results.meta.loadAfter = os.loadavg()[0];
killAll();
const leftover = liveGroups();
if (leftover.length) log(`warning: process groups still alive: ${leftover.join(", ")}`);
log(`total ${((performance.now() - began) / 1000).toFixed(0)} s`);

if (flag("no-write")) {
  console.log(JSON.stringify(results, null, 2));
} else {
  mkdirSync(join(HERE, "charts"), { recursive: true });
  writeFileSync(join(HERE, "results.json"), JSON.stringify(results, null, 2) + "\n");
  writeReport(results, HERE);
  log("wrote bench/RESULTS.md, bench/results.json, bench/charts/*.svg");
}
process.exit(0);
