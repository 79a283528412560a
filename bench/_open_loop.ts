// Open-loop HTTP client of bench/run.ts, for the stalled-worker latency (issue #10 section 1).
// wrk is closed-loop (each connection waits for its answer before the next request), so a stalled
// server slows the offered load down with it and hides the delay (coordinated omission); wrk2 is
// not in Debian and wrk's Lua cannot schedule requests at a constant rate. This client opens a
// new connection (`Connection: close`) at fixed intended times, `rate` per second, whether or not
// earlier requests were answered, and takes each latency from the request's intended send time.
// It reports how late it opened connections against that schedule (its own lag) and its CPU, so
// a client that fell behind shows in the results. Runs under the pinned Node.
//
// Usage: node bench/_open_loop.ts '{"port":N,"rate":N,"warmupMs":N,"durationMs":N}'
// Prints one JSON line (an OpenLoopSample of bench/_results.ts).

import net from "node:net";
import process from "node:process";
import { quantile } from "./_stats.ts";

const o = JSON.parse(process.argv[2]) as {
  port: number;
  rate: number;
  warmupMs: number;
  durationMs: number;
};
const REQUEST = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
const TIMEOUT_MS = 5000;
const WORKER = /\r\nx-worker: *([^\r]*)/i;

const interval = 1000 / o.rate;
const start = performance.now() + 20;
const t0 = start + o.warmupMs; // requests intended from t0 on are measured
const t1 = t0 + o.durationMs; // and none is sent from t1 on
const measured = Math.ceil((o.durationMs / 1000) * o.rate) + 1;
const latencies = new Float64Array(measured);
const lags = new Float64Array(measured);
let done = 0;
let lagged = 0;
let errors = 0;
const errorKinds = new Map<string, number>();
const workers = new Map<string, number>();
let outstanding = 0;
let allSent = false;
let cpu0: NodeJS.CpuUsage | undefined;
let finish: () => void;
const finished = new Promise<void>((resolve) => (finish = resolve));

function request(intended: number): void {
  const counts = intended >= t0;
  if (counts) lags[lagged++] = performance.now() - intended;
  outstanding++;
  let head = "";
  let over = false;
  const end = (kind: string) => {
    if (over) return;
    over = true;
    socket.destroy();
    outstanding--;
    if (counts) {
      const status = head.slice(9, 12);
      if (!kind && status === "200") {
        latencies[done++] = performance.now() - intended;
        const worker = WORKER.exec(head)?.[1] ?? "none";
        workers.set(worker, (workers.get(worker) ?? 0) + 1);
      } else {
        errors++;
        const what = kind || `status ${status}`;
        errorKinds.set(what, (errorKinds.get(what) ?? 0) + 1);
      }
    }
    if (outstanding === 0 && allSent) finish();
  };
  const socket = net.connect({ port: o.port, host: "127.0.0.1" }, () => socket.write(REQUEST));
  socket.setNoDelay(true);
  socket.setTimeout(TIMEOUT_MS, () => end("timeout"));
  socket.on("data", (chunk: Buffer) => {
    if (head.length < 512) head += chunk.toString("latin1");
  });
  socket.on("end", () => end(""));
  socket.on("error", (error: NodeJS.ErrnoException) => end(error.code ?? error.message));
}

// Sends every request whose intended time has come, then sleeps until the next one is due.
let sent = 0;
function tick(): void {
  const now = performance.now();
  for (let at = start + sent * interval; at <= now && at < t1; at = start + ++sent * interval) {
    if (at >= t0 && !cpu0) cpu0 = process.cpuUsage();
    request(at);
  }
  const next = start + sent * interval;
  if (next < t1) return void setTimeout(tick, Math.max(0, next - performance.now()));
  allSent = true;
  if (outstanding === 0) finish();
}
tick();
await finished;

const cpu = process.cpuUsage(cpu0);
const seconds = (performance.now() - t0) / 1000;
const sorted = latencies.subarray(0, done).sort();
const sortedLags = lags.subarray(0, lagged).sort();
console.log(JSON.stringify({
  rate: o.rate,
  achieved: done / (o.durationMs / 1000),
  requests: done,
  errors,
  errorKinds: Object.fromEntries(errorKinds),
  p50: quantile(sorted, 0.5),
  p99: quantile(sorted, 0.99),
  p999: quantile(sorted, 0.999),
  max: sorted.length ? sorted[sorted.length - 1] : NaN,
  lagP99: quantile(sortedLags, 0.99),
  clientCpu: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
  workers: Object.fromEntries(workers),
}));
process.exit(0);
