// CPU per IPC message, ours against the runtime's own child_process.fork (issue #10):
//   node bench/ipc_cpu.ts [--runtimes node,deno,bun] [--reps 3] [--sizes 64,1024,16384]
// For each runtime, serialization and payload it runs bench/_ipc_cpu.ts `reps` times for fork
// and for ours, interleaved (fork, ours, fork, ours …) so that both see the same load, and
// prints the medians: CPU µs per round trip in the primary and in the child, ours' excess over
// fork's, and fork's total CPU over ours (×1.00 = no overhead). A benchmark, not a test, and not
// part of `npm run bench`: it writes nothing. Linux only (/proc).

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { command, type Runtime } from "./_lib.ts";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const runtimes = arg("runtimes", "node,deno,bun").split(",") as Runtime[];
const reps = Number(arg("reps", "3"));
const sizes = arg("sizes", "64,1024,16384").split(",").map(Number);
/** Round trips per measurement: about half a second of a loaded 2-core box each. */
const roundTrips = (size: number) => (size <= 64 ? 30_000 : size <= 1024 ? 20_000 : 8_000);

interface Figures {
  primaryUs: number;
  childUs: number;
  perS: number;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

console.log(`load average ${readFileSync("/proc/loadavg", "utf8").trim()}`);
for (const runtime of runtimes) {
  for (const serialization of ["json", "advanced"]) {
    for (const size of sizes) {
      const runs: Record<string, Figures[]> = { fork: [], ours: [] };
      for (let r = 0; r < reps; r++) {
        for (const impl of ["fork", "ours"]) {
          const [file, args] = command(runtime, "_ipc_cpu.ts", [
            impl,
            serialization,
            String(size),
            String(roundTrips(size)),
          ]);
          const out = execFileSync(file, args, { encoding: "utf8", timeout: 120_000 });
          runs[impl].push(JSON.parse(out.trim().split("\n").pop()!));
        }
      }
      const m = (impl: string, key: keyof Figures) => median(runs[impl].map((f) => f[key]));
      const fp = m("fork", "primaryUs"), fc = m("fork", "childUs");
      const op = m("ours", "primaryUs"), oc = m("ours", "childUs");
      console.log(
        `${runtime} ${serialization} ${size} B: fork ${fp.toFixed(1)} + ${fc.toFixed(1)} µs, ` +
          `ours ${op.toFixed(1)} + ${oc.toFixed(1)} µs (primary + child; ours +${
            (op - fp).toFixed(1)
          } / +${(oc - fc).toFixed(1)}), fork/ours CPU ×${((fp + fc) / (op + oc)).toFixed(2)}, ` +
          `msg/s ${m("fork", "perS")} / ${m("ours", "perS")}`,
      );
    }
  }
}
