// Load generator for bench/churn.ts, always run under the pinned Node so every variant faces the
// same client. Why our own: the benchmark needs a brand-new TCP connection for every request at a
// fixed concurrency, with per-request latency, and no load tool is installed here (autocannon is
// on npm, but installing it would change package.json/node_modules outside bench/, and its
// connection reuse is its whole design). This client keeps `connections` loops busy; each loop
// connects, writes one `GET / HTTP/1.1` with `Connection: close`, reads to EOF, checks the status
// and starts over. Latency = connect() to EOF, so it includes the TCP handshake and the close.
//
// Usage: node bench/_client.ts <port> <connections> <warmupMs> <durationMs>
// Prints one JSON line: {requests, errors, seconds, rps, p50, p99} (latencies in ms) counting
// only requests that finished inside the measurement window (after the warm-up).

import net from "node:net";
import process from "node:process";

const [port, connections, warmupMs, durationMs] = process.argv.slice(2).map(Number);
const REQUEST = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
const TIMEOUT_MS = 5000;

const start = performance.now();
const t0 = start + warmupMs;
const t1 = t0 + durationMs;
const latencies: number[] = [];
let errors = 0;
const errorKinds = new Map<string, number>();

function once(): Promise<void> {
  return new Promise((resolve) => {
    const began = performance.now();
    let head = "";
    let done = false;
    const finish = (ok: boolean, kind?: string) => {
      if (done) return;
      done = true;
      socket.destroy();
      const end = performance.now();
      if (end >= t0 && end <= t1) {
        if (ok) latencies.push(end - began);
        else {
          errors++;
          errorKinds.set(kind!, (errorKinds.get(kind!) ?? 0) + 1);
        }
      }
      resolve();
    };
    const socket = net.connect({ port, host: "127.0.0.1" }, () => socket.write(REQUEST));
    socket.setNoDelay(true);
    socket.setTimeout(TIMEOUT_MS, () => finish(false, "timeout"));
    socket.on("data", (chunk: Buffer) => {
      if (head.length < 16) head += chunk.toString("latin1");
    });
    socket.on("end", () => finish(head.startsWith("HTTP/1.1 200"), `status ${head.slice(9, 12)}`));
    socket.on(
      "error",
      (error: NodeJS.ErrnoException) => finish(false, error.code ?? error.message),
    );
  });
}

async function loop(): Promise<void> {
  while (performance.now() < t1) await once();
}

await Promise.all(Array.from({ length: connections }, loop));
latencies.sort((a, b) => a - b);
const pick = (q: number) =>
  latencies.length
    ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
    : NaN;
const seconds = durationMs / 1000;
console.log(JSON.stringify({
  requests: latencies.length,
  errors,
  errorKinds: Object.fromEntries(errorKinds),
  seconds,
  rps: latencies.length / seconds,
  p50: pick(0.5),
  p99: pick(0.99),
}));
