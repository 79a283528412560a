// What every bench server tree shares, under any runtime: the root process's control over stdin
// (mark / cpu / exit when stdin closes, so a tree whose orchestrator died stops by itself) and
// the stalled-worker load (worker 1 blocks its event loop 200 ms every second).

import process from "node:process";

export const PORT = Number(process.env.BENCH_PORT);
export const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);

/**
 * Root process of a server tree: reads commands on stdin. `mark` starts a CPU window, `cpu`
 * prints {"cpu": % of one core used by this process since the mark}. EOF on stdin exits.
 */
export function control(onExit: () => unknown = () => {}): void {
  let mark = { usage: process.cpuUsage(), at: performance.now() };
  let buffer = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk: string) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line === "mark") mark = { usage: process.cpuUsage(), at: performance.now() };
      if (line === "cpu") {
        const used = process.cpuUsage(mark.usage);
        const wallUs = (performance.now() - mark.at) * 1000;
        console.log(JSON.stringify({ cpu: ((used.user + used.system) / wallUs) * 100 }));
      }
    }
  });
  const leave = async () => {
    const timer = setTimeout(() => process.exit(0), 1500);
    try {
      await onExit();
    } catch { /* exiting anyway */ }
    clearTimeout(timer);
    process.exit(0);
  };
  process.stdin.on("end", leave);
  process.once("SIGTERM", leave);
}

/** In the worker numbered 1, when BENCH_STALL=1: blocks the event loop 200 ms every second. */
export function maybeStall(id: number): void {
  if (process.env.BENCH_STALL !== "1" || id !== 1) return;
  setInterval(() => {
    const until = performance.now() + 200;
    while (performance.now() < until) { /* stalled */ }
  }, 1000);
}
