// What every bench server tree shares, under any runtime: the hello-world answer (the same body
// and `x-worker` header from every server, so wrk can tally who answered), the root's control over
// stdin (commands, and exit when stdin closes, so a tree whose orchestrator died stops by itself)
// and the stalled-worker load (worker 1 blocks its event loop 200 ms every second).

import type { IncomingMessage, ServerResponse } from "node:http";
import process from "node:process";

export const PORT = Number(process.env.BENCH_PORT);
export const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
export const HOSTNAME = "127.0.0.1";
export const BODY = "hello world\n";

/**
 * The fetch handler every fetch-style server runs (ours, Deno.serve, Bun.serve): hello world,
 * naming the worker in `x-worker`.
 */
export function fetchHandler(worker: string | number): () => Response {
  const init = { headers: { "x-worker": String(worker) } };
  return () => new Response(BODY, init);
}

/** The same answer as a node:http request listener. */
export function nodeHandler(
  worker: string | number,
): (req: IncomingMessage, res: ServerResponse) => void {
  const id = String(worker);
  return (_req, res) => {
    res.setHeader("x-worker", id);
    res.end(BODY);
  };
}

/** Prints one JSON line for the orchestrator. */
export function say(message: Record<string, unknown>): void {
  console.log(JSON.stringify(message));
}

/**
 * Root process of a server tree: calls `onLine` for each line on stdin; on EOF runs `onExit`
 * (at most 1.5 s) and exits.
 */
export function control(onExit: () => unknown, onLine: (line: string) => void = () => {}): void {
  let buffer = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk: string) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onLine(line);
    }
  });
  process.stdin.on("end", async () => {
    const timer = setTimeout(() => process.exit(0), 1500);
    try {
      await onExit();
    } catch { /* exiting anyway */ }
    clearTimeout(timer);
    process.exit(0);
  });
}

/** In the worker numbered 1, when BENCH_STALL=1: blocks the event loop 200 ms every second. */
export function maybeStall(id: number): void {
  if (process.env.BENCH_STALL !== "1" || id !== 1) return;
  setInterval(() => {
    const until = performance.now() + 200;
    while (performance.now() < until) { /* stalled */ }
  }, 1000);
}
