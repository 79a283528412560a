// Server tree of bench/run.ts: BENCH_WORKERS (2) independent processes, each binding its own
// SO_REUSEPORT socket with the server our reuse-port policy uses on this runtime (node:http on
// Node, Deno.serve on Deno with --unstable-net, Bun.serve on Bun), answering with its index.
// No primary routes anything: the root only starts them. With BENCH_SINGLE=1 it is one process
// serving node:http by itself (the single-process baseline), with no child at all.

import { spawn } from "node:child_process";
import http from "node:http";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { control, maybeStall, PORT, WORKERS } from "./_server_common.ts";

type ServeFn = (options: Record<string, unknown>, handler?: () => Response) => unknown;
const g = globalThis as unknown as {
  Deno?: { serve: ServeFn; execPath(): string };
  Bun?: { serve: ServeFn };
};
const index = Number(process.env.BENCH_INDEX ?? 0);

function serveNodeHttp(body: string, reusePort: boolean): Promise<void> {
  return new Promise((resolve) => {
    http.createServer((_req, res) => res.end(body))
      .listen({ port: PORT, host: "127.0.0.1", reusePort } as never, () => resolve());
  });
}

if (process.env.BENCH_SINGLE === "1") {
  control();
  await serveNodeHttp("1", false);
  console.log(JSON.stringify({ ready: true }));
} else if (index === 0) {
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
    child.stdout!.on("data", () => {
      if (++listening === WORKERS) console.log(JSON.stringify({ ready: true }));
    });
    return child;
  });
  control(() => children.forEach((child) => child.kill()));
} else {
  const body = String(index);
  process.stdin.on("end", () => process.exit(0)).resume(); // the root went away
  if (g.Bun) {
    g.Bun.serve({
      port: PORT,
      hostname: "127.0.0.1",
      reusePort: true,
      fetch: () => new Response(body),
    });
  } else if (g.Deno) {
    g.Deno.serve(
      { port: PORT, hostname: "127.0.0.1", reusePort: true, onListen: () => {} },
      () => new Response(body),
    );
  } else {
    await serveNodeHttp(body, true);
  }
  console.log("listening");
  maybeStall(index);
}
