// Descriptor exhaustion (issue #13 item 9): once the descriptors come back, round-robin serves
// again. The primary runs out by opening files (a fixture command); the workers, on the sockets
// handed to them, by lowering their soft RLIMIT_NOFILE with prlimit(1) while idle connections
// pile up.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import net from "node:net";
import { test } from "node:test";
import { type App, get, runtime, withFixture } from "./_helpers.ts";

async function serving(app: App, n: number): Promise<number> {
  await app.waitFor((e) => e.ev === "started", 1, 30_000);
  const bound = await app.waitFor((e) => e.ev === "message" && "bound" in (e.msg as object), n);
  return (bound[0].msg as { bound: number }).bound;
}

/** Sets the soft descriptor limit of `pid`: its open descriptors plus `spare`, or back. */
function limitDescriptors(pid: number, spare: number | "restore"): void {
  const hard = execFileSync("prlimit", [
    "--pid",
    String(pid),
    "--output=HARD",
    "--noheadings",
    "--nofile",
  ]).toString().trim();
  const soft = spare === "restore" ? hard : String(readdirSync(`/proc/${pid}/fd`).length + spare);
  execFileSync("prlimit", ["--pid", String(pid), `--nofile=${soft}:`]);
}

/** Opens `n` connections that send nothing; they hold a descriptor wherever they are. */
function idleConnections(port: number, n: number): net.Socket[] {
  return Array.from({ length: n }, () => net.connect(port, "127.0.0.1").on("error", () => {}));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function servesAgain(port: number): Promise<void> {
  for (let i = 0; i < 6; i++) assert.match(await get(port), /^worker [12]$/);
}

test("round-robin: the primary's listener accepts again after it ran out of descriptors", async () => {
  await withFixture("reliability_app.ts", { REL_WORKERS: "2" }, async (app) => {
    const port = await serving(app, 2);
    app.command({ cmd: "exhaust" });
    const [exhausted] = await app.waitFor((e) => e.ev === "exhausted");
    assert.equal(exhausted.code, "EMFILE");
    // Accepting these fails: they wait in the kernel's queue.
    const waiting = Array.from({ length: 5 }, () => get(port).catch((e) => String(e)));
    await pause(500);
    app.command({ cmd: "release" });
    await app.waitFor((e) => e.ev === "released");
    // Deno's accept loop ended at the first EMFILE: without the re-arm
    // (adapters/_accept_watch.ts) these and every later request time out. Node's libuv closes
    // the connections waiting at EMFILE (its "EMFILE trick"); Bun and Deno keep them queued.
    const bodies = await Promise.all(waiting);
    if (runtime !== "node") { for (const body of bodies) assert.match(body, /^worker [12]$/); }
    await servesAgain(port);
  });
});

test("round-robin: workers that ran out of descriptors get connections again", async () => {
  await withFixture("reliability_app.ts", { REL_WORKERS: "2" }, async (app) => {
    const port = await serving(app, 2);
    const online = await app.waitFor((e) => e.ev === "online", 2);
    const workers = online.map((e) => e.pid as number);
    for (const pid of workers) limitDescriptors(pid, 8);
    const idle = idleConnections(port, 120);
    await pause(1500);
    for (const pid of workers) limitDescriptors(pid, "restore");
    for (const socket of idle) socket.destroy();
    await pause(300);
    // Each handoff a worker could not receive was dropped by its runtime, unanswered: without
    // the lost-handoff detection (src/_channel.ts) their slots stayed taken for good. Deno
    // never acknowledges such a handle and held every later write to that worker for good:
    // without the worker's own acknowledgement (adapters/_ipc.ts) these requests time out.
    await servesAgain(port);
  });
});
