// systemd Type=notify with a fake notification socket (tests/fixtures/obs_notify_socket.py, a
// python3 datagram receiver that also reads the sender's pid): READY=1 once the workers are
// ready, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around a reload, WATCHDOG=1 pings at half
// $WATCHDOG_USEC, STOPPING=1 at shutdown — each from the primary's pid, which is what systemd's
// default NotifyAccess=main accepts. Skipped, saying so, without python3.
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { killGroup, spawnGroup } from "../scripts/_process.ts";
import { type Event, fixture, runtime, withFixture } from "./_helpers.ts";

const PYTHON = spawnSync("python3", ["--version"]).status === 0;
const NO_PYTHON = "python3 is not installed: the fake notify socket needs it";

/** The fake socket's process and the datagrams it printed. */
class Receiver {
  readonly events: Event[] = [];
  readonly child: ChildProcess;
  constructor(socket: string) {
    this.child = spawnGroup("python3", [fixture("obs_notify_socket.py"), socket], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      this.events.push(JSON.parse(line));
    });
  }
  async waitFor(match: (e: Event) => boolean, count = 1): Promise<Event[]> {
    const deadline = Date.now() + 15_000;
    while (this.events.filter(match).length < count) {
      if (Date.now() > deadline) {
        throw new Error(`Timed out; datagrams: ${JSON.stringify(this.events)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.events.filter(match);
  }
  stop(): void {
    if (this.child.pid !== undefined) killGroup(this.child.pid);
  }
}

/** Runs `fn` with a fake notify socket; always stops it. */
async function withNotifySocket(
  fn: (socket: string, receiver: Receiver) => Promise<void>,
  abstract = false,
) {
  const dir = mkdtempSync(join(tmpdir(), "x-cluster-notify-"));
  const socket = abstract
    ? `@x-cluster-test-${process.pid}-${Date.now()}`
    : join(dir, "notify.sock");
  const receiver = new Receiver(socket);
  try {
    await receiver.waitFor((e) => e.ev === "bound");
    await fn(socket, receiver);
  } finally {
    receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const datagrams = (r: Receiver): Event[] => r.events.filter((e) => e.ev === "datagram");
const texts = (r: Receiver): string[] => datagrams(r).map((e) => e.text as string);

test("the primary notifies systemd: READY, RELOADING/READY, WATCHDOG, STOPPING", {
  skip: PYTHON ? false : NO_PYTHON,
}, async () => {
  await withNotifySocket(async (socket, receiver) => {
    const env = { NOTIFY_SOCKET: socket, WATCHDOG_USEC: "200000", OBS_METRICS: "0" };
    const flags = runtime === "deno" ? ["-A", "--unstable-net"] : [];
    await withFixture("obs_app.ts", env, async (app) => {
      await app.waitFor((e) => e.ev === "started");
      const [ready] = await receiver.waitFor((e) =>
        e.ev === "datagram" && /^READY=1/.test(e.text as string)
      );
      assert.match(ready.text as string, /^READY=1\nSTATUS=2 workers ready$/);
      assert.equal(ready.pid, app.child.pid, "sent as the primary (NotifyAccess=main)");
      app.command({ cmd: "reload" });
      await app.waitFor((e) => e.ev === "reloaded");
      await receiver.waitFor((e) =>
        e.ev === "datagram" && /^READY=1\nSTATUS=reloaded/.test(e.text as string)
      );
      const reloading = datagrams(receiver).find((e) => /^RELOADING=1/.test(e.text as string))!;
      const usec = Number((reloading.text as string).match(/MONOTONIC_USEC=(\d+)/)?.[1]);
      const uptime = Number(readUptime()) * 1e6;
      assert.ok(
        Math.abs(usec - uptime) < 5e6,
        `MONOTONIC_USEC ${usec} is CLOCK_MONOTONIC (~${uptime})`,
      );
      const order = texts(receiver).filter((t) => !t.startsWith("WATCHDOG")).map((t) =>
        t.split("\n")[0]
      );
      assert.deepEqual(order, ["READY=1", "RELOADING=1", "READY=1"]);
      await receiver.waitFor((e) => e.ev === "datagram" && e.text === "WATCHDOG=1", 3);
      app.command({ cmd: "shutdown" });
      await app.waitFor((e) => e.ev === "shutdown-done");
      await receiver.waitFor((e) => e.ev === "datagram" && /^STOPPING=1/.test(e.text as string));
      for (const d of datagrams(receiver)) {
        assert.equal(d.pid, app.child.pid, `${d.text} from the primary`);
      }
    }, flags);
  });
});

test("an abstract notify socket (@name) is reached too", {
  skip: PYTHON ? false : NO_PYTHON,
}, async () => {
  await withNotifySocket(async (socket, receiver) => {
    const env = { NOTIFY_SOCKET: socket, OBS_METRICS: "0", OBS_WORKERS: "1" };
    const flags = runtime === "deno" ? ["-A", "--unstable-net"] : [];
    await withFixture("obs_app.ts", env, async (app) => {
      await app.waitFor((e) => e.ev === "started");
      const [ready] = await receiver.waitFor((e) =>
        e.ev === "datagram" && /^READY=1/.test(e.text as string)
      );
      assert.equal(ready.pid, app.child.pid);
    }, flags);
  }, true);
});

test("without a way to reach the socket, the primary says what to install", {
  skip: !PYTHON
    ? NO_PYTHON
    : runtime === "bun"
    ? "Bun sends through bun:ffi, no binary needed"
    : false,
}, async () => {
  await withNotifySocket(async (socket) => {
    // No systemd-notify on PATH (only the runtime's own directory); Deno without --unstable-net.
    const env = { NOTIFY_SOCKET: socket, OBS_METRICS: "0", PATH: dirname(process.execPath) };
    await withFixture("obs_app.ts", env, async (app) => {
      const [error] = await app.waitFor((e) => e.ev === "error");
      assert.match(error.message as string, /systemd-notify binary is not installed/);
      if (runtime === "deno") assert.match(error.message as string, /--unstable-net/);
      await app.waitFor((e) => e.ev === "started");
    }, runtime === "deno" ? ["-A"] : []);
  });
});

function readUptime(): string {
  return spawnSync("cat", ["/proc/uptime"], { encoding: "utf8" }).stdout.split(" ")[0];
}
