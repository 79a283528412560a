// One bench server tree (bench/_server_*.ts) as the orchestrator sees it: started on a fresh
// port under the runtime being measured, in its own process group, probed once for the server
// that answers, and measured with wrk while the CPU of each of its processes is read from /proc.

import net from "node:net";
import process from "node:process";
import { command, cpuShare, freePort, Proc, type Runtime, treeCpu } from "./_lib.ts";
import type { WrkSample } from "./_results.ts";
import type { Variant } from "./_variants.ts";
import { Wrk, type WrkOptions } from "./_wrk.ts";

/** Workers of every tree but the default configuration's (issue #10: 2 workers). */
const WORKERS = 2;

/** A started tree; `skip` says why the variant cannot run on this runtime (then it is stopped). */
export interface Tree {
  proc: Proc;
  port: number;
  /** Workers the tree runs (the default configuration forks one per CPU). */
  workers: number;
  skip?: string;
}

/**
 * Starts `variant`'s tree with `extra` in its environment and waits until it listens.
 *
 * @example
 * ```ts
 * const tree = await startTree("node", variants("node")[0]);
 * await tree.proc.stop();
 * ```
 */
export async function startTree(
  runtime: Runtime,
  variant: Variant,
  extra: Record<string, string> = {},
): Promise<Tree> {
  const port = await freePort();
  const [file, args] = command(runtime, variant.server);
  const proc = new Proc(file, args, `${runtime} ${variant.label}`, {
    env: {
      ...process.env,
      ...variant.env,
      ...extra,
      BENCH_PORT: String(port),
      BENCH_WORKERS: String(WORKERS),
    },
  });
  try {
    const ready = await proc.next<{ ready?: true; workers?: number; skip?: string }>(
      60_000,
      "ready",
    );
    if (ready.skip) await proc.stop(1000);
    return { proc, port, workers: ready.workers ?? WORKERS, skip: ready.skip };
  } catch (error) {
    await proc.stop(1000);
    throw error;
  }
}

/**
 * The names of the response headers of one keep-alive GET / (sent raw, so that nothing is
 * added to it): they tell which server answered (node:http adds `keep-alive` and `connection`,
 * Deno.serve and Bun.serve do not).
 *
 * @example
 * ```ts
 * await fingerprint(8000); // ["connection", "content-length", "date", "keep-alive", "x-worker"]
 * ```
 */
export function fingerprint(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let head = "";
    const socket = net.connect({ port, host: "127.0.0.1" }, () => {
      socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    });
    socket.setTimeout(5000, () => socket.destroy(new Error("no answer within 5 s")));
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.destroy();
      const lines = head.slice(0, end).split("\r\n").slice(1);
      resolve(lines.map((line) => line.slice(0, line.indexOf(":")).toLowerCase()).sort());
    });
  });
}

/**
 * What answered, read from a fingerprint: "node:http" (keep-alive header), "node:http + fetch
 * bridge" (also the content-type a fetch `Response` implies, which our node:http handlers never
 * set) or "native" (Deno.serve / Bun.serve, which send no keep-alive header).
 *
 * @example
 * ```ts
 * serverKind(["content-length", "content-type", "date", "x-worker"]); // "native"
 * ```
 */
export function serverKind(headers: readonly string[]): string {
  if (!headers.includes("keep-alive")) return "native";
  return headers.includes("content-type") ? "node:http + fetch bridge" : "node:http";
}

/**
 * One wrk run against `tree`, with the CPU of the tree's root and of its other processes over
 * the run.
 *
 * @example
 * ```ts
 * const sample = await measure(tree, { connections: 64, seconds: 5 });
 * ```
 */
export async function measure(
  tree: Tree,
  options: Omit<WrkOptions, "port">,
): Promise<WrkSample> {
  const pgid = tree.proc.child.pid!;
  const before = treeCpu(pgid);
  const result = await new Wrk({ ...options, port: tree.port }).result();
  const { root, others } = cpuShare(before, treeCpu(pgid), pgid, result.seconds);
  return { ...result, primaryCpu: root, workersCpu: others };
}
