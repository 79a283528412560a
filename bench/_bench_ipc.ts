// IPC of bench/run.ts: bench/_ipc.ts under the runtime being measured, for ours and the
// runtime's own `child_process.fork` (and `Bun.spawn` ipc on Bun), json and advanced; each
// (impl, serialization) in a fresh process, alternating within each round.

import { command, Proc, type Runtime } from "./_lib.ts";
import type { IpcFigures, RuntimeResults } from "./_results.ts";
import { fmt } from "./_stats.ts";

/** Lengths of the IPC runs. */
export interface IpcSettings {
  rounds: number;
  pingMs: number;
  pipeMs: number;
}

/**
 * Measures IPC on `runtime` into `r.ipc`.
 *
 * @example
 * ```ts
 * await ipc("node", r, { rounds: 3, pingMs: 1000, pipeMs: 1500 }, console.error);
 * ```
 */
export async function ipc(
  runtime: Runtime,
  r: RuntimeResults,
  s: IpcSettings,
  log: (line: string) => void,
): Promise<void> {
  const impls = runtime === "bun" ? ["ours", "fork", "bun-spawn"] : ["ours", "fork"];
  for (let round = 1; round <= s.rounds; round++) {
    for (const serialization of ["json", "advanced"]) {
      for (const impl of impls) {
        const key = `${impl}|${serialization}`;
        if (r.skipped[key] || r.failed[key]) continue;
        const options = { impl, serialization, pingMs: s.pingMs, pipeMs: s.pipeMs };
        const [file, args] = command(runtime, "_ipc.ts", [JSON.stringify(options)]);
        const proc = new Proc(file, args, `${runtime} ipc ${key}`);
        try {
          const out = await proc.next<{ sizes?: Record<string, IpcFigures>; skip?: string }>(
            60_000,
            "a result",
          );
          if (out.skip) {
            r.skipped[key] = out.skip;
            log(`  skip ipc ${key}: ${out.skip}`);
            continue;
          }
          for (const [size, figures] of Object.entries(out.sizes!)) {
            ((r.ipc[key] ??= {})[size] ??= []).push(figures);
          }
          log(
            `  ${round}/${s.rounds} ipc ${key}: ` +
              Object.entries(out.sizes!).map(([size, f]) =>
                `${size} B rtt ${fmt(f.p50)} µs, ${fmt(f.pipePerS)} msg/s`
              ).join("; "),
          );
        } catch (error) {
          r.failed[key] = (error as Error).message;
          log(`  FAILED ipc ${key}: ${(error as Error).message}`);
        } finally {
          await proc.stop();
        }
      }
    }
  }
}
