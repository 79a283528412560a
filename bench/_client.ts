// Load generator of bench/run.ts, always run under the pinned Node so every variant on every
// runtime faces the same client. Why our own: the churn, fairness and stalled-worker benchmarks
// need a brand-new TCP connection for every request at a fixed concurrency, per-request latency
// up to p999, and the worker that answered each request (for the per-worker share); no load tool
// is installed on our machines or in CI (autocannon would add a dependency outside bench/, and
// wrk is not there unless installed). It is a plain net.Socket client with no HTTP library in
// the loop; it reports its own CPU use so a saturated client shows in the results.
//
// Usage: node bench/_client.ts '<json options>'
//   {port, mode: "churn" | "keepalive", connections, warmupMs, durationMs?, count?}
// - churn: each loop connects, writes one `GET / HTTP/1.1` with `Connection: close`, reads to
//   EOF, checks the status, and starts over. Latency = connect() to EOF (handshake and close
//   included). With `count`, the measurement ends after `count` requests finished after the
//   warm-up (so fairness is measured over exactly that many connections); else after durationMs.
// - keepalive: each loop keeps one connection and sends the next request when the previous
//   response (Content-Length or chunked) is complete. Latency = write to last byte.
// Every server answers with the id of the worker that served the request as the body.
// Prints {"phase":"measure"} when the warm-up ends, then one result line: {requests, errors,
// errorKinds, seconds, rps, p50, p99, p999 (ms), workers: {id: requests}, clientCpu (% of one
// core during the measurement)}.

import net from "node:net";
import process from "node:process";

interface Options {
  port: number;
  mode: "churn" | "keepalive";
  connections: number;
  warmupMs: number;
  durationMs?: number;
  count?: number;
}
const o = JSON.parse(process.argv[2]) as Options;
const CLOSE = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
const KEEP = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
const TIMEOUT_MS = 5000;
const HARD_LIMIT_MS = 120_000;

const start = performance.now();
const t0 = start + o.warmupMs;
let t1 = o.count ? start + HARD_LIMIT_MS : t0 + (o.durationMs ?? 5000);
let lastEnd = t0;
let cpu0: NodeJS.CpuUsage | undefined;
const latencies: number[] = [];
const workers = new Map<string, number>();
let errors = 0;
const errorKinds = new Map<string, number>();

setTimeout(() => {
  cpu0 = process.cpuUsage();
  console.log(JSON.stringify({ phase: "measure" }));
}, o.warmupMs);

function record(began: number, ok: boolean, body: string, kind: string): void {
  const end = performance.now();
  if (end < t0 || end > t1) return;
  if (o.count && latencies.length + errors >= o.count) return;
  if (ok) {
    latencies.push(end - began);
    workers.set(body, (workers.get(body) ?? 0) + 1);
  } else {
    errors++;
    errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
  }
  lastEnd = end;
  if (o.count && latencies.length + errors >= o.count) t1 = end; // every loop stops now
}

function churnOnce(): Promise<void> {
  return new Promise((resolve) => {
    const began = performance.now();
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (ok: boolean, kind: string) => {
      if (done) return;
      done = true;
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const body = text.slice(text.indexOf("\r\n\r\n") + 4).trim();
      record(
        began,
        ok && text.startsWith("HTTP/1.1 200"),
        body,
        kind || `status ${text.slice(9, 12)}`,
      );
      resolve();
    };
    const socket = net.connect({ port: o.port, host: "127.0.0.1" }, () => socket.write(CLOSE));
    socket.setNoDelay(true);
    socket.setTimeout(TIMEOUT_MS, () => finish(false, "timeout"));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => finish(true, ""));
    socket.on(
      "error",
      (error: NodeJS.ErrnoException) => finish(false, error.code ?? error.message),
    );
  });
}

async function churnLoop(): Promise<void> {
  while (performance.now() < t1) await churnOnce();
}

/** One keep-alive connection sending requests back to back until t1. */
function keepAliveLoop(): Promise<void> {
  return new Promise((resolve) => {
    let buffer: Buffer = Buffer.alloc(0);
    let began = 0;
    let closed = false;
    const socket = net.connect({ port: o.port, host: "127.0.0.1" }, send);
    socket.setNoDelay(true);
    function send(): void {
      if (performance.now() >= t1) {
        closed = true;
        socket.destroy();
        return resolve();
      }
      began = performance.now();
      socket.write(KEEP);
    }
    const fail = (kind: string) => {
      if (closed) return;
      closed = true;
      record(began, false, "", kind);
      socket.destroy();
      // Reconnect and carry on, as a real client would.
      keepAliveLoop().then(resolve);
    };
    socket.setTimeout(TIMEOUT_MS, () => fail("timeout"));
    socket.on("error", (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    socket.on("end", () => fail("closed by server"));
    socket.on("data", (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      const headEnd = buffer.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const head = buffer.subarray(0, headEnd).toString("latin1");
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      let bodyEnd: number;
      let body: string;
      if (length) {
        bodyEnd = headEnd + 4 + Number(length[1]);
        if (buffer.length < bodyEnd) return;
        body = buffer.subarray(headEnd + 4, bodyEnd).toString("latin1");
      } else {
        // chunked: wait for the last chunk
        const last = buffer.indexOf("\r\n0\r\n\r\n", headEnd);
        if (last < 0) return;
        bodyEnd = last + 7;
        const raw = buffer.subarray(headEnd + 4, last).toString("latin1");
        body = raw.slice(raw.indexOf("\r\n") + 2);
      }
      buffer = buffer.subarray(bodyEnd);
      record(began, head.startsWith("HTTP/1.1 200"), body.trim(), `status ${head.slice(9, 12)}`);
      send();
    });
  });
}

const loop = o.mode === "keepalive" ? keepAliveLoop : churnLoop;
await Promise.all(Array.from({ length: o.connections }, loop));
const cpu = process.cpuUsage(cpu0);
latencies.sort((a, b) => a - b);
const pick = (q: number) =>
  latencies.length
    ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
    : NaN;
const seconds = ((o.count ? lastEnd : t1) - t0) / 1000;
console.log(JSON.stringify({
  requests: latencies.length,
  errors,
  errorKinds: Object.fromEntries(errorKinds),
  seconds,
  rps: latencies.length / seconds,
  p50: pick(0.5),
  p99: pick(0.99),
  p999: pick(0.999),
  workers: Object.fromEntries(workers),
  clientCpu: ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100,
}));
process.exit(0);
