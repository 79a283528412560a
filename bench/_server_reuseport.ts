// Server tree of bench/run.ts: BENCH_WORKERS (2) independent processes, each binding its own
// SO_REUSEPORT socket with the runtime's fastest server (node:http on Node, Deno.serve on Deno
// with --unstable-net, Bun.serve on Bun), answering hello world with its index. No primary routes
// anything: the root only starts them and prints {"ready":true,"workers":N}.

import { spawn } from "node:child_process";
import http from "node:http";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  control,
  fetchHandler,
  HOSTNAME,
  maybeStall,
  nodeHandler,
  PORT,
  say,
  WORKERS,
} from "./_server_common.ts";

type ServeFn = (options: Record<string, unknown>, handler?: () => Response) => unknown;
const g = globalThis as unknown as {
  Deno?: { serve: ServeFn; execPath(): string };
  Bun?: { serve: ServeFn };
};
const index = Number(process.env.BENCH_INDEX ?? 0);

if (index === 0) {
  const self = fileURLToPath(import.meta.url);
  const [file, args] = g.Deno
    ? [g.Deno.execPath(), ["run", "-A", "--unstable-net", self]]
    : [process.execPath, [self]];
  let listening = 0;
  const children = Array.from({ length: WORKERS }, (_, i) => {
    const child = spawn(file, args, {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, BENCH_INDEX: String(i + 1) },
    });
    child.stdout!.once("data", () => {
      if (++listening === WORKERS) say({ ready: true, workers: WORKERS });
    });
    return child;
  });
  control(() => children.forEach((child) => child.kill()));
} else {
  process.stdin.on("end", () => process.exit(0)).resume(); // the root went away
  if (g.Bun) {
    g.Bun.serve({
      port: PORT,
      hostname: HOSTNAME,
      reusePort: true,
      fetch: fetchHandler(index),
    });
  } else if (g.Deno) {
    g.Deno.serve(
      { port: PORT, hostname: HOSTNAME, reusePort: true, onListen: () => {} },
      fetchHandler(index),
    );
  } else {
    await new Promise<void>((resolve) => {
      http.createServer(nodeHandler(index))
        .listen({ port: PORT, host: HOSTNAME, reusePort: true } as never, () => resolve());
    });
  }
  console.log("listening");
  maybeStall(index);
}
