// The throughput client of the harness: wrk (Debian's `wrk` package, a C load generator), run
// with bench/_wrk.lua so that every run also reports which worker answered each request and
// wrk's own CPU time. Why wrk and not a JS client: the old Node client (bench/_client.ts) used
// 74–104 % of a core in the keep-alive rows and capped the fastest servers (issue #10).

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { Errors, WrkResult } from "./_results.ts";
import { cpuSeconds, HERE, Proc } from "./_lib.ts";

/** What `npm run bench` prints when wrk is missing. */
export const WRK_MISSING = "bench: wrk is not on the PATH; install it with `apt-get install wrk`";

/**
 * wrk's version line, or undefined when `wrk` is not on the PATH.
 *
 * @example
 * ```ts
 * if (!wrkVersion()) throw new Error(WRK_MISSING);
 * ```
 */
export function wrkVersion(): string | undefined {
  try {
    // `wrk -v` prints its banner and exits 1; the banner is what we want.
    execFileSync("wrk", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const e = error as { code?: string; stdout?: string };
    if (e.code === "ENOENT") return undefined;
    return /wrk \S+/.exec(e.stdout ?? "")?.[0] ?? "wrk";
  }
  return "wrk";
}

/** Options of one wrk run. */
export interface WrkOptions {
  port: number;
  /** Open connections (wrk -c). */
  connections: number;
  /** Length of the run (wrk -d, whole seconds); without it, the run lasts until `stop()`. */
  seconds?: number;
  /** Send `Connection: close`, so every request opens a new connection (churn). */
  close?: boolean;
  /** A request not answered in this long counts as a timeout (wrk --timeout, s). */
  timeoutS?: number;
}

interface Raw {
  requests: number;
  durationUs: number;
  errors: Errors;
  p50: number;
  p99: number;
  p999: number;
  workers: Record<string, number>;
  stat: string;
}

/**
 * One wrk run against http://127.0.0.1:`port`/, with one thread (the box has 2 cores to share
 * with the servers).
 *
 * @example
 * ```ts
 * const run = new Wrk({ port: 8000, connections: 64, seconds: 5, close: true });
 * const { rps, clientCpu } = await run.result();
 * ```
 */
export class Wrk {
  #proc: Proc;
  #timeoutMs: number;

  constructor(options: WrkOptions) {
    const args = [
      "-t1",
      `-c${options.connections}`,
      `-d${options.seconds ?? 3600}s`,
      `--timeout`,
      `${options.timeoutS ?? 5}s`,
      "-s",
      join(HERE, "_wrk.lua"),
      ...(options.close ? ["-H", "Connection: close"] : []),
      `http://127.0.0.1:${options.port}/`,
      ...(options.close ? ["--", "close"] : []),
    ];
    this.#proc = new Proc("wrk", args, `wrk ${args.join(" ")}`);
    this.#timeoutMs = ((options.seconds ?? 3600) + 30) * 1000;
  }

  /** Ends a run without a fixed length early: wrk stops on SIGINT and reports as usual. */
  stop(): void {
    this.#proc.signal("SIGINT");
  }

  /** Kills the run, if it still runs, without waiting for its figures. */
  async close(): Promise<void> {
    await this.#proc.stop(500);
  }

  /** The figures of the run, once wrk has finished. */
  async result(): Promise<WrkResult> {
    try {
      const raw = await this.#proc.next<Raw>(this.#timeoutMs, "wrk's result");
      const seconds = raw.durationUs / 1e6;
      return {
        requests: raw.requests,
        seconds,
        rps: raw.requests / seconds,
        p50: raw.p50 / 1000,
        p99: raw.p99 / 1000,
        p999: raw.p999 / 1000,
        errors: raw.errors,
        workers: raw.workers,
        clientCpu: (cpuSeconds(0, `0 (wrk) ${raw.stat}`) / seconds) * 100,
      };
    } finally {
      await this.#proc.stop(1000);
    }
  }
}

/**
 * Requests that failed (refused, reset, not 2xx/3xx, timed out): wrk's error counters less the
 * read/write errors that only followed an unannounced close after a complete answer (see
 * bench/_wrk.lua).
 *
 * @example
 * ```ts
 * failed({ connect: 1, read: 5, write: 0, status: 0, timeout: 0, unannouncedCloses: 4 }); // 2
 * ```
 */
export function failed(errors: Errors): number {
  const io = Math.max(0, errors.read + errors.write - (errors.unannouncedCloses ?? 0));
  return errors.connect + io + errors.status + errors.timeout;
}
