// Unit tests of src/_sd_notify.ts (the primary's systemd lifecycle) with a fake channel and
// fake timers, and of adapters/_sd_notify.ts's environment reading: datagrams in order, one
// error per kind of failure, watchdog pings at half $WATCHDOG_USEC only for this pid.
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { systemdChannel, uptimeMicros } from "../adapters/_sd_notify.ts";
import { SystemdNotifier } from "../src/_sd_notify.ts";
import type { SystemdChannel } from "../src/types.ts";

function fakes(notify: (state: string) => Promise<void>, watchdogInterval?: number) {
  const sent: string[] = [];
  const errors: Error[] = [];
  const timers: { callback: () => void; ms: number }[] = [];
  const channel: SystemdChannel = {
    transport: "fake",
    watchdogInterval,
    notify: (state) => notify(state).then(() => void sent.push(state)),
  };
  const notifier = new SystemdNotifier(channel, {
    setInterval: (callback, ms) => timers.push({ callback, ms }) - 1,
    clearInterval: (i) => void timers.splice(i as number, 1),
    error: (error) => void errors.push(error),
  });
  return { notifier, sent, errors, timers };
}

test("SystemdNotifier sends in order, even when a send is slow", async () => {
  let slow = true;
  const { notifier, sent } = fakes((state) =>
    state.startsWith("READY") && slow
      ? new Promise((resolve) => setTimeout(() => ((slow = false), resolve()), 30))
      : Promise.resolve()
  );
  notifier.ready("2 workers ready");
  notifier.reloading("reloading workers");
  notifier.stopping("stopping");
  await notifier.flushed();
  assert.deepEqual(sent, [
    "READY=1\nSTATUS=2 workers ready",
    "RELOADING=1\nSTATUS=reloading workers",
    "STOPPING=1\nSTATUS=stopping",
  ]);
});

test("SystemdNotifier pings at the channel's interval, reports one error per kind, stops", async () => {
  const { notifier, sent, errors, timers } = fakes(
    (state) => state === "WATCHDOG=1" ? Promise.reject(new Error("down")) : Promise.resolve(),
    5000,
  );
  notifier.startWatchdog();
  notifier.startWatchdog(); // idempotent
  assert.equal(timers.length, 1);
  assert.equal(timers[0].ms, 5000);
  for (let i = 0; i < 3; i++) timers[0].callback();
  notifier.ready("up");
  await notifier.flushed();
  assert.equal(errors.length, 1, "one report for three failed pings");
  assert.deepEqual(sent, ["READY=1\nSTATUS=up"], "a failed ping does not stop later sends");
  notifier.stop();
  assert.equal(timers.length, 0);
});

test("systemdChannel() reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID", () => {
  const saved = { ...process.env };
  try {
    delete process.env.NOTIFY_SOCKET;
    assert.equal(systemdChannel(undefined), undefined, "not under systemd");
    process.env.NOTIFY_SOCKET = "/run/systemd/notify";
    assert.equal(systemdChannel(undefined)?.watchdogInterval, undefined);
    assert.equal(systemdChannel(undefined)?.transport, "the systemd-notify binary");
    process.env.WATCHDOG_USEC = "10000000";
    assert.equal(systemdChannel(undefined)?.watchdogInterval, 5000);
    process.env.WATCHDOG_PID = String(process.pid + 1);
    assert.equal(systemdChannel(undefined)?.watchdogInterval, undefined, "another process's");
    process.env.WATCHDOG_PID = String(process.pid);
    assert.equal(systemdChannel(undefined)?.watchdogInterval, 5000);
  } finally {
    for (const key of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
});

test("uptimeMicros() is never earlier than CLOCK_MONOTONIC", () => {
  const micros = uptimeMicros();
  const hr = process.hrtime.bigint() / 1000n;
  // Node's hrtime is CLOCK_MONOTONIC; /proc/uptime is BOOTTIME (>= MONOTONIC), rounded up.
  if (!("Deno" in globalThis) && !("Bun" in globalThis)) {
    assert.ok(micros >= hr, `${micros} >= ${hr}`);
    assert.ok(micros - hr < 5_000_000n, "and close to it");
  } else {
    assert.ok(micros > 0n);
  }
});
