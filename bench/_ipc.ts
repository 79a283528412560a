// IPC benchmark of bench/run.ts, run under the runtime it measures:
//   <runtime> bench/_ipc.ts '{"impl":"ours"|"fork"|"bun-spawn","serialization":"json"|"advanced",
//                            "pingMs":N,"pipeMs":N}'
// The primary talks to one child that echoes every message back:
// - ours: `new Cluster({workers: 1})`, `worker.send()` in the primary, `Cluster.worker.send()`
//   in the child (bench/_ipc_child_ours.ts);
// - fork: the runtime's own `child_process.fork()`, `child.send()` / `process.send()`;
// - bun-spawn: `Bun.spawn({ipc})` and `proc.send()` (Bun only).
// For each payload (a string of 64 B, 1 KiB, 16 KiB in {i, d}): ping-pong (one message in
// flight; round-trip p50/p99 in µs) for pingMs after a short warm-up, then pipelined (256 in
// flight, each echo sends the next) for pipeMs after a warm-up of its own, in messages (round
// trips) per second.
// Prints one JSON line: {"sizes": {"64": {p50, p99, pingPerS, pipePerS}, ...}} or {"skip": why}.

import { fork } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Cluster, type Serialization } from "../mod.ts";
import { quantile } from "./_stats.ts";

const o = JSON.parse(process.argv[2]) as {
  impl: "ours" | "fork" | "bun-spawn";
  serialization: Serialization;
  pingMs: number;
  pipeMs: number;
};
const SIZES = [64, 1024, 16384];
const IN_FLIGHT = 256;
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

interface Link {
  send(message: unknown): void;
  onMessage: (message: unknown) => void;
  close(): Promise<void> | void;
}

type BunSpawn = (options: {
  cmd: string[];
  ipc(message: unknown): void;
  serialization: string;
  stdio: string[];
}) => { send(message: unknown): void; kill(): void };
const bun = (globalThis as unknown as { Bun?: { spawn: BunSpawn } }).Bun;

async function connect(): Promise<Link> {
  const link: Link = { send() {}, onMessage() {}, close() {} };
  if (o.impl === "ours") {
    const cluster = new Cluster({
      workers: 1,
      exec: here("./_ipc_child_ours.ts"),
      serialization: o.serialization,
      shutdownTimeout: 1000,
      readiness: "online", // the child never listens
      respawn: false,
      signals: false,
    });
    cluster.on("message", (_worker, message) => link.onMessage(message));
    await cluster.start();
    const worker = [...cluster.workers.values()][0];
    link.send = (message) => void worker.send(message).catch(() => {});
    link.close = () => cluster.shutdown();
  } else if (o.impl === "fork") {
    const child = fork(here("./_ipc_child_raw.ts"), [], { serialization: o.serialization });
    child.on("message", (message) => link.onMessage(message));
    await new Promise((resolve) => child.once("spawn", resolve));
    link.send = (message) => child.send(message as never);
    link.close = () => void child.kill();
  } else {
    if (!bun) throw new Error("Bun.spawn exists only on Bun");
    const child = bun.spawn({
      cmd: [process.execPath, here("./_ipc_child_raw.ts")],
      ipc: (message) => link.onMessage(message),
      serialization: o.serialization,
      stdio: ["inherit", "inherit", "inherit"],
    });
    link.send = (message) => child.send(message);
    link.close = () => child.kill();
  }
  // The first echo proves the child listens (a message sent earlier may be lost on some runtimes).
  for (let tries = 0;; tries++) {
    const echoed = new Promise<boolean>((resolve) => {
      link.onMessage = () => resolve(true);
      setTimeout(() => resolve(false), 200);
    });
    link.send({ i: -1, d: "" });
    if (await echoed) break;
    if (tries > 50) throw new Error("the child never echoed");
  }
  return link;
}

function pingPong(link: Link, payload: string, ms: number): Promise<number[]> {
  return new Promise((resolve) => {
    const rtts: number[] = [];
    const end = performance.now() + ms;
    let sent = 0;
    const next = () => {
      sent = performance.now();
      link.send({ i: rtts.length, d: payload });
    };
    link.onMessage = () => {
      const now = performance.now();
      rtts.push((now - sent) * 1000);
      if (now < end) next();
      else resolve(rtts);
    };
    next();
  });
}

function pipelined(link: Link, payload: string, ms: number): Promise<number> {
  return new Promise((resolve) => {
    let received = 0;
    let outstanding = 0;
    const began = performance.now();
    const end = began + ms;
    link.onMessage = () => {
      received++;
      outstanding--;
      const now = performance.now();
      if (now < end) {
        outstanding++;
        link.send({ i: received, d: payload });
      } else if (outstanding === 0) {
        resolve(received / ((now - began) / 1000));
      }
    };
    for (let i = 0; i < IN_FLIGHT; i++) {
      outstanding++;
      link.send({ i, d: payload });
    }
  });
}

let link: Link | undefined;
try {
  if (o.impl === "bun-spawn" && !bun) {
    console.log(JSON.stringify({ skip: "Bun.spawn exists only on Bun" }));
    process.exit(0);
  }
  link = await connect();
  const sizes: Record<string, unknown> = {};
  for (const size of SIZES) {
    const payload = "x".repeat(size);
    await pingPong(link, payload, Math.min(100, o.pingMs)); // warm-up
    const rtts = (await pingPong(link, payload, o.pingMs)).sort((a, b) => a - b);
    // Warmed up as ping-pong is, for every impl: a cold run measured the JIT more than the
    // channel (Bun, advanced 1 KiB: ours ×0.60 of fork over 20k messages, ×0.90 over 100k).
    await pipelined(link, payload, Math.min(200, o.pipeMs));
    const pipePerS = await pipelined(link, payload, o.pipeMs);
    sizes[size] = {
      p50: quantile(rtts, 0.5),
      p99: quantile(rtts, 0.99),
      pingPerS: rtts.length / (o.pingMs / 1000),
      pipePerS,
    };
  }
  console.log(JSON.stringify({ sizes }));
} catch (error) {
  const e = error as { code?: string; message?: string };
  console.log(JSON.stringify({ skip: `${e.code ?? "error"}: ${e.message}` }));
}
await Promise.race([link?.close(), new Promise((r) => setTimeout(r, 1500))]);
process.exit(0);
