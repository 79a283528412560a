// Issue #12's scheduling benchmark (not part of `npm run bench`): least-connections and
// power-of-two against strict round-robin when one worker is slow. Worker 1 of 4 takes 20 ms
// per request (awaited: slow I/O; with --block: a busy event loop), the others answer at once;
// an open-loop client (bench/_open_loop.ts: a new connection at fixed intended times, latency
// from the intended send time, so a slow server cannot slow the offered load down) sends
// `--rate` requests per second. Each scheduler runs `--rounds` times, alternating, each in a
// fresh cluster. Prints a markdown table (p50, p99, p99.9 and each worker's share of the
// requests, median over rounds) to paste into bench/RESULTS.md, and the raw samples as JSON
// on stderr.
//
// Usage: node bench/sched_slow_worker.ts [--runtime node|deno|bun] [--rate 400] [--seconds 10]
//        [--rounds 3] [--workers 4] [--slow-ms 20] [--block]
// Round-robin gives worker 1 a quarter of the requests, so about a quarter of them wait its
// 20 ms (p99 >= 20 ms). Least-connections and power-of-two route around it while it holds a
// connection; measured (bench/RESULTS.md) its share halves, but p99 stays at 20 ms or more,
// since a slow worker with no open connection still ties with the idle fast ones.

import process from "node:process";
import { parseArgs } from "node:util";
import { command, killAll, Proc, type Runtime, sleep } from "./_lib.ts";
import type { OpenLoopSample } from "./_results.ts";
import { fmt, median } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    runtime: { type: "string", default: "node" },
    rate: { type: "string", default: "400" },
    seconds: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    workers: { type: "string", default: "4" },
    "slow-ms": { type: "string", default: "20" },
    block: { type: "boolean", default: false },
  },
});
const runtime = values.runtime as Runtime;
const rate = Number(values.rate), seconds = Number(values.seconds), rounds = Number(values.rounds);
const workers = Number(values.workers), slowMs = Number(values["slow-ms"]);
const SCHEDULERS = ["round-robin", "least-connections", "power-of-two"] as const;

async function once(scheduler: string): Promise<OpenLoopSample> {
  const settings = { scheduler, workers, slowMs, block: values.block };
  const [file, args] = command(runtime, "sched_server.ts", [JSON.stringify(settings)]);
  const server = new Proc(file, args, `cluster (${scheduler})`);
  try {
    const { port } = await server.next<{ port: number }>(60_000, "the port");
    await sleep(500);
    const load = { port, rate, warmupMs: 1000, durationMs: seconds * 1000 };
    const [nodeFile, nodeArgs] = command("node", "_open_loop.ts", [JSON.stringify(load)]);
    const client = new Proc(nodeFile, nodeArgs, "open-loop client");
    try {
      return await client.next<OpenLoopSample>(seconds * 1000 + 60_000, "its figures");
    } finally {
      await client.stop();
    }
  } finally {
    await server.stop();
  }
}

const samples: Record<string, OpenLoopSample[]> = {};
for (let round = 0; round < rounds; round++) {
  for (const scheduler of SCHEDULERS) {
    const sample = await once(scheduler);
    (samples[scheduler] ??= []).push(sample);
    console.error(`${scheduler} round ${round + 1}: p50 ${fmt(sample.p50, 1)} ms, p99 ${fmt(sample.p99, 1)} ms`);
  }
}
killAll();

const share = (s: OpenLoopSample, id: number) => ((s.workers[String(id)] ?? 0) / Math.max(1, s.requests)) * 100;
const lines = [
  `### One slow worker (${runtime}, ${workers} workers, worker 1 +${slowMs} ms${values.block ? " busy" : ""}, ${rate} req/s open loop, ${seconds} s × ${rounds})`,
  "",
  `| scheduler | p50 ms | p99 ms | p99.9 ms | errors | ${Array.from({ length: workers }, (_, i) => `w${i + 1} %`).join(" | ")} |`,
  `| --- | --- | --- | --- | --- | ${Array(workers).fill("---").join(" | ")} |`,
];
for (const scheduler of SCHEDULERS) {
  const s = samples[scheduler];
  const m = (f: (x: OpenLoopSample) => number) => median(s.map(f));
  const shares = Array.from({ length: workers }, (_, i) => fmt(m((x) => share(x, i + 1)), 1));
  lines.push(
    `| ${scheduler} | ${fmt(m((x) => x.p50), 1)} | ${fmt(m((x) => x.p99), 1)} | ${fmt(m((x) => x.p999), 1)} | ` +
      `${fmt(m((x) => x.errors))} | ${shares.join(" | ")} |`,
  );
}
console.log(lines.join("\n"));
console.error(JSON.stringify(samples));
process.exit(0);
