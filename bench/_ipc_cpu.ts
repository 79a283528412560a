// One measurement of bench/ipc_cpu.ts, run under the runtime it measures:
//   <runtime> bench/_ipc_cpu.ts <ours|fork> <json|advanced> <payload bytes> <round trips>
// A primary and one child that echoes every message (the children of bench/_ipc.ts), 256 in
// flight as in the pipelined IPC bench. CPU time of both processes is read from /proc around
// the measured round trips (after a warm-up of a quarter of them), so the figure is CPU per
// message, which a loaded box changes far less than it changes messages per second.
// Prints one JSON line: {impl, serialization, size, n, primaryUs, childUs, perS}.

import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Cluster, type Serialization } from "../mod.ts";

const [impl, serialization, sizeArg, nArg] = process.argv.slice(2) as [
  "ours" | "fork",
  Serialization,
  string,
  string,
];
const N = Number(nArg);
const IN_FLIGHT = 256;
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
/** User + system CPU of a process in ms (Linux: utime and stime, in 10 ms ticks). */
const cpuMs = (pid: number | "self") => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

let send: (message: unknown) => void;
let onMessage: (message: unknown) => void = () => {};
let pid: number;
let close: () => unknown;
if (impl === "ours") {
  const cluster = new Cluster({
    workers: 1,
    exec: here("./_ipc_child_ours.ts"),
    serialization,
    shutdownTimeout: 1000,
    readiness: "online",
    respawn: false,
    signals: false,
  });
  cluster.on("message", (_worker, message) => onMessage(message));
  await cluster.start();
  const worker = [...cluster.workers.values()][0];
  send = (message) => void worker.send(message).catch(() => {});
  pid = worker.pid!;
  close = () => cluster.shutdown();
} else {
  const child = fork(here("./_ipc_child_raw.ts"), [], { serialization });
  child.on("message", (message) => onMessage(message));
  await new Promise((resolve) => child.once("spawn", resolve));
  send = (message) => child.send(message as never);
  pid = child.pid!;
  close = () => child.kill();
}
// The first echo proves the child listens (a message sent earlier may be lost on some runtimes).
for (let tries = 0;; tries++) {
  const echoed = new Promise<boolean>((resolve) => {
    onMessage = () => resolve(true);
    setTimeout(() => resolve(false), 200);
  });
  send({ i: -1, d: "" });
  if (await echoed) break;
  if (tries > 50) throw new Error("the child never echoed");
}
const payload = "x".repeat(Number(sizeArg));
const run = (n: number) =>
  new Promise<void>((resolve) => {
    let received = 0, sent = 0;
    onMessage = () => {
      received++;
      if (sent < n) send({ i: sent++, d: payload });
      else if (received === n) resolve();
    };
    while (sent < Math.min(n, IN_FLIGHT)) send({ i: sent++, d: payload });
  });
await run(Math.ceil(N / 4));
const p0 = cpuMs("self"), c0 = cpuMs(pid), t0 = performance.now();
await run(N);
const p1 = cpuMs("self"), c1 = cpuMs(pid), t1 = performance.now();
console.log(JSON.stringify({
  impl,
  serialization,
  size: Number(sizeArg),
  n: N,
  primaryUs: ((p1 - p0) * 1000) / N,
  childUs: ((c1 - c0) * 1000) / N,
  perS: Math.round(N / ((t1 - t0) / 1000)),
}));
await Promise.race([close(), new Promise((resolve) => setTimeout(resolve, 1500))]);
process.exit(0);
