// Churn load of the reload benchmark (bench/_reload.ts): `connections` loops, each opening a new
// connection per request (`Connection: close`), until the line `stop` arrives on stdin. Why not
// wrk here: wrk counts a read or write error whenever a server closes after a complete answer that
// did not say `Connection: close` (Bun.serve answers so), and from its counters alone a real reset
// cannot be told from such a close. This client knows each connection's outcome: a request failed
// when its connection was refused, reset or timed out (5 s) before a complete 2xx answer.
// Runs under the pinned Node; prints {requests, failed, errorKinds, clientCpu} (CPU: % of a core).
//
// Usage: node bench/_churn.ts '{"port":N,"connections":N}'

import net from "node:net";
import process from "node:process";

const o = JSON.parse(process.argv[2]) as { port: number; connections: number };
const REQUEST = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
const TIMEOUT_MS = 5000;

let stopping = false;
let requests = 0;
let failed = 0;
const errorKinds = new Map<string, number>();
const cpu0 = process.cpuUsage();
const t0 = performance.now();

// Whether `text` holds a whole 2xx answer: status line, headers, and Content-Length bytes.
function complete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0 || !/^HTTP\/1\.[01] 2\d\d /.test(text)) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
  return length ? Buffer.byteLength(text.slice(end + 4), "latin1") >= Number(length[1]) : true;
}

function once(): Promise<void> {
  return new Promise((resolve) => {
    let text = "";
    let over = false;
    const end = (kind: string) => {
      if (over) return;
      over = true;
      socket.destroy();
      requests++;
      // A complete answer counts even if a reset, not a FIN, followed it.
      if (!complete(text)) {
        failed++;
        const what = kind || (text ? `incomplete or ${text.slice(9, 12)}` : "closed, no answer");
        errorKinds.set(what, (errorKinds.get(what) ?? 0) + 1);
      }
      resolve();
    };
    const socket = net.connect({ port: o.port, host: "127.0.0.1" }, () => socket.write(REQUEST));
    socket.setNoDelay(true);
    socket.setTimeout(TIMEOUT_MS, () => end("timeout"));
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    socket.on("end", () => end(""));
    socket.on("error", (error: NodeJS.ErrnoException) => end(error.code ?? error.message));
  });
}

async function loop(): Promise<void> {
  while (!stopping) await once();
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  if (chunk.includes("stop")) stopping = true;
});
await Promise.all(Array.from({ length: o.connections }, loop));
const cpu = process.cpuUsage(cpu0);
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({
  requests,
  failed,
  errorKinds: Object.fromEntries(errorKinds),
  clientCpu: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
}));
process.exit(0);
