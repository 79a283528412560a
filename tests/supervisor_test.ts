// Unit tests for src/_supervisor.ts with a fake clock and fake workers: respawn backoff, crash
// loops, the ready timeout, reload lanes, retirement, the watchdog, recycling and the one-time
// warning. No process is started.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type SupervisedWorker, Supervisor } from "../src/_supervisor.ts";
import type { ClusterError } from "../src/errors.ts";
import type { ClusterOptions } from "../src/options.ts";
import { resolveOptions } from "../src/_resolve_options.ts";
import { Worker, type WorkerLink, type WorkerState } from "../src/worker.ts";

/** Let promise callbacks (ready.then …) run. */
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Timers that run only when the test advances the clock. */
class FakeClock {
  now = 1000;
  #timers = new Map<number, { due: number; callback: () => void }>();
  #next = 1;

  setTimeout(callback: () => void, ms: number): number {
    const id = this.#next++;
    this.#timers.set(id, { due: this.now + ms, callback });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number);
  }

  /** Runs every timer due within `ms`, in order, letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    await flush();
    while (true) {
      const due = [...this.#timers].filter(([, t]) =>
        t.due <= end
      ).sort((a, b) => a[1].due - b[1].due || a[0] - b[0])[0];
      if (!due) {
        break;
      }
      this.#timers.delete(due[0]);
      this.now = due[1].due;
      due[1].callback();
      await flush();
    }
    this.now = end;
  }
}

/** A worker the test drives: it comes online, gets ready and exits when told. */
class FakeWorker implements SupervisedWorker, WorkerLink {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  isReady = false;
  state: WorkerState = "none";
  exitedAfterDisconnect = false;
  stderrTail = "";
  lossOnClose: string | undefined = undefined;
  readonly connected = true;
  readonly pid = undefined;
  /** Signals sent by terminate() or kill(), in order. */
  readonly signals: string[] = [];
  /** The timeout stop() was called with, once it was. */
  stoppedWith: number | undefined;
  #settle!: { resolve(): void; reject(error: Error): void };
  #exited!: () => void;
  #exit = new Promise<void>((resolve) => (this.#exited = resolve));

  readonly id: number;
  readonly slot: number;
  readonly h: Harness;

  constructor(id: number, slot: number, h: Harness) {
    this.id = id;
    this.slot = slot;
    this.h = h;
    this.worker = new Worker(id, this);
    this.ready = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.ready.catch(() => {});
  }

  online(): this {
    this.state = "online";
    this.h.supervisor.heartbeat(this, null);
    return this;
  }

  markReady(): this {
    if (this.state === "none") this.online();
    this.isReady = true;
    this.state = "listening";
    this.#settle.resolve();
    return this;
  }

  beat(requests = 0, rss = 0): void {
    this.h.supervisor.heartbeat(this, { requests, rss });
  }

  exit(code: number | null = 1, signal: string | null = null): void {
    this.state = "dead";
    if (!this.isReady) {
      this.#settle.reject(new Error(`worker ${this.id} exited before it was ready`));
    }
    this.#exited();
    this.h.supervisor.exited(this, code, signal);
  }

  terminate(signal: string): void {
    this.signals.push(signal);
  }

  kill(signal: string): void {
    this.exitedAfterDisconnect = true;
    this.signals.push(signal);
  }

  stop(timeout: number): Promise<void> {
    this.exitedAfterDisconnect = true;
    this.stoppedWith = timeout;
    return this.#exit;
  }

  send(): Promise<void> {
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    return this.stop(0);
  }
}

interface Harness {
  supervisor: Supervisor<FakeWorker>;
  clock: FakeClock;
  workers: FakeWorker[];
  /** Events as [name, worker id or slot, …]. */
  events: unknown[][];
  /** Whether `emit` reports a listener (as the cluster's does). */
  listening: boolean;
}

function harness(options: ClusterOptions = {}): Harness {
  const clock = new FakeClock();
  const h = { clock, workers: [], events: [], listening: true } as unknown as Harness;
  let nextId = 1;
  h.supervisor = new Supervisor<FakeWorker>(resolveOptions(options), {
    fork: (slot) => {
      const worker = new FakeWorker(nextId++, slot, h);
      h.workers.push(worker);
      h.events.push(["fork", worker.id, slot]);
      return worker;
    },
    now: () => clock.now,
    setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
    clearTimeout: (timer) => clock.clearTimeout(timer),
    unref: () => {},
    random: () => 0,
    emit: (event, ...args) => {
      h.events.push([
        event,
        ...args.map((a) =>
          a instanceof Worker ? a.id : a instanceof Error ? (a as ClusterError).code : a
        ),
      ]);
      return h.listening;
    },
  });
  return h;
}

const forks = (h: Harness) => h.events.filter((e) => e[0] === "fork");
const named = (h: Harness, name: string) => h.events.filter((e) => e[0] === name);

test("respawn: a crashed worker is restarted in its slot after the backoff, which grows and resets", async () => {
  const h = harness({ respawn: { base: 100, factor: 2, stableUptime: 5000 } });
  h.supervisor.addSlot({}).worker.markReady();
  h.workers[0].exit(1);
  await h.clock.advance(99);
  assert.equal(forks(h).length, 1, "not before the 100 ms backoff");
  await h.clock.advance(1);
  assert.deepEqual(forks(h)[1], ["fork", 2, 0], "worker 2 in slot 0");
  h.workers[1].markReady().exit(1);
  await h.clock.advance(199);
  assert.equal(forks(h).length, 2, "the second failure waits 200 ms");
  await h.clock.advance(1);
  assert.equal(forks(h).length, 3);
  h.workers[2].markReady();
  await h.clock.advance(6000);
  h.workers[2].exit(1);
  await h.clock.advance(100);
  assert.equal(forks(h).length, 4, "a worker that lived 6 s resets the backoff to 100 ms");
});

test("respawn: a worker that exited because it was asked to is not restarted", async () => {
  const h = harness();
  const { worker } = h.supervisor.addSlot({});
  worker.markReady();
  worker.kill("SIGTERM");
  worker.exit(0, "SIGTERM");
  await h.clock.advance(60_000);
  assert.equal(forks(h).length, 1);
});

test("crash loop: maxRestarts failures stop the slot with CRASH_LOOP, naming how they ended", async () => {
  const h = harness({ respawn: { base: 10, maxRestarts: 3 } });
  const { ready } = h.supervisor.addSlot({});
  h.workers[0].stderrTail = "Error: crash at start\n    at file:///app.ts:3:9\n";
  h.workers[0].exit(1);
  await h.clock.advance(10);
  h.workers[1].exit(null, "SIGSEGV");
  await h.clock.advance(20);
  h.workers[2].stderrTail = "Error: crash at start\n    at file:///app.ts:3:9\n";
  h.workers[2].exit(1);
  await h.clock.advance(60_000);
  assert.equal(forks(h).length, 3, "no fork after the guard");
  const [loop] = named(h, "crashloop");
  assert.equal(loop[1], 0);
  const error = await ready.then(() => undefined, (e: ClusterError) => e);
  assert.equal(error?.code, "CRASH_LOOP");
  assert.match(error!.message, /Slot 0 stopped restarting: .*3 times in a row \(1, SIGSEGV, 1\)/);
  assert.match(error!.message, /last error: Error: crash at start/);
  assert.deepEqual(named(h, "error").at(-1), ["error", "CRASH_LOOP", 3]);
});

test("respawn false: the slot stays empty and fails with its worker's own error", async () => {
  const h = harness({ respawn: false });
  const { ready } = h.supervisor.addSlot({});
  h.workers[0].exit(1);
  await h.clock.advance(60_000);
  assert.equal(forks(h).length, 1);
  await assert.rejects(ready, /worker 1 exited before it was ready/);
  assert.equal(h.supervisor.activeSlots, 0);
});

test("ready timeout: a worker not ready in time is reported and SIGKILLed; a ready one is left alone", async () => {
  const h = harness({ readyTimeout: 500 });
  h.supervisor.addSlot({}).worker.online();
  h.supervisor.addSlot({});
  await h.clock.advance(100);
  h.workers[1].markReady();
  await h.clock.advance(400);
  assert.deepEqual(h.workers[0].signals, ["SIGKILL"]);
  assert.deepEqual(h.workers[1].signals, []);
  const [error] = named(h, "error");
  assert.deepEqual(error, ["error", "WORKER_START_FAILED", 1]);
  assert.equal(h.workers[0].exitedAfterDisconnect, false, "a failed start, not a request");
});

test("reload: lanes of reloadConcurrency; each old worker drains only once its replacement is ready", async () => {
  const h = harness({ reloadConcurrency: 2, shutdownTimeout: 1234 });
  for (let i = 0; i < 3; i++) h.supervisor.addSlot({}).worker.markReady();
  const reload = h.supervisor.reload();
  assert.equal(h.supervisor.reload(), reload, "a second reload() joins the first");
  await h.clock.advance(0);
  assert.deepEqual(forks(h).slice(3), [["fork", 4, 0], ["fork", 5, 1]], "two lanes");
  const [old1, , old3] = h.workers;
  assert.equal(
    h.supervisor.predecessor(h.workers[3]),
    old1,
    "the replacement knows whom it replaces",
  );
  assert.equal(old1.stoppedWith, undefined, "the old worker serves until its replacement is ready");
  h.workers[3].markReady();
  await h.clock.advance(0);
  assert.equal(old1.stoppedWith, 1234, "then drains with shutdownTimeout");
  assert.equal(h.supervisor.predecessor(h.workers[3]), undefined);
  old1.exit(0);
  await h.clock.advance(0);
  assert.deepEqual(forks(h).at(-1), ["fork", 6, 2], "the free lane takes slot 2");
  h.workers[4].markReady();
  h.workers[5].markReady();
  await h.clock.advance(0);
  h.workers[1].exit(0);
  old3.exit(0);
  await reload;
  assert.equal(forks(h).length, 6, "the drained workers were not restarted");
});

test("reload: a replacement that never gets ready stops the reload; the old worker serves on", async () => {
  const h = harness({ respawn: { base: 10 } });
  for (let i = 0; i < 2; i++) h.supervisor.addSlot({}).worker.markReady();
  const reload = h.supervisor.reload();
  await h.clock.advance(0);
  h.workers[2].exit(1);
  const error = await reload.then(() => undefined, (e: ClusterError) => e);
  assert.equal(error?.code, "RELOAD_FAILED");
  assert.match(
    error!.message,
    /Reload stopped at slot 0: its new worker 3 did not become ready .*worker 1 keeps serving/,
  );
  await h.clock.advance(1000);
  assert.equal(forks(h).length, 3, "slot 1 was not touched, the failed worker not restarted");
  assert.deepEqual(h.workers[2].signals, ["SIGKILL"]);
  assert.equal(h.workers[0].stoppedWith, undefined);
});

test("scale down: the newest slots retire gracefully and are never restarted", async () => {
  const h = harness({ shutdownTimeout: 777 });
  for (let i = 0; i < 3; i++) h.supervisor.addSlot({}).worker.markReady();
  const down = h.supervisor.scale(1);
  assert.equal(h.supervisor.activeSlots, 1);
  assert.deepEqual(h.workers.map((w) => w.stoppedWith), [undefined, 777, 777]);
  h.workers[1].exit(0);
  h.workers[2].exit(0);
  await down;
  await h.clock.advance(60_000);
  assert.equal(forks(h).length, 3);
  const up = h.supervisor.scale(2);
  await h.clock.advance(0);
  assert.deepEqual(forks(h).at(-1), ["fork", 4, 3], "a new slot, not a retired one");
  h.workers[3].markReady();
  await up;
});

test("watchdog: missed heartbeats → unresponsive and SIGTERM, then SIGKILL after killTimeout; the exit respawns", async () => {
  const h = harness({
    heartbeatTimeout: 1000,
    heartbeatInterval: 200,
    killTimeout: 500,
    respawn: { base: 10 },
  });
  const healthy = h.supervisor.addSlot({}).worker.markReady();
  const stuck = h.supervisor.addSlot({}).worker.markReady();
  for (let t = 0; t < 1000; t += 200) {
    healthy.beat();
    await h.clock.advance(200);
  }
  assert.deepEqual(stuck.signals, [], "1000 ms without a beat is not yet over the timeout");
  healthy.beat();
  await h.clock.advance(250);
  assert.deepEqual(named(h, "unresponsive"), [["unresponsive", 2]]);
  assert.deepEqual(stuck.signals, ["SIGTERM"]);
  healthy.beat();
  await h.clock.advance(250);
  healthy.beat();
  await h.clock.advance(250);
  healthy.beat();
  assert.deepEqual(stuck.signals, ["SIGTERM"], "SIGKILL only after killTimeout");
  await h.clock.advance(250);
  assert.deepEqual(stuck.signals.slice(0, 2), ["SIGTERM", "SIGKILL"]);
  assert.deepEqual(healthy.signals, []);
  stuck.exit(null, "SIGKILL");
  await h.clock.advance(10);
  assert.deepEqual(forks(h).at(-1), ["fork", 3, 1], "the watchdog's kill counts as a failure");
});

test("recycling by requests: a worker past maxRequests is replaced, not counted as a crash", async () => {
  const h = harness({ maxRequests: 100, heartbeatInterval: 100 });
  const worker = h.supervisor.addSlot({}).worker.markReady();
  worker.beat(99);
  await h.clock.advance(1000);
  assert.equal(forks(h).length, 1);
  worker.beat(100);
  await h.clock.advance(1000);
  assert.deepEqual(named(h, "recycle"), [["recycle", 1, "requests"]]);
  assert.equal(forks(h).length, 2);
  h.workers[1].markReady();
  await h.clock.advance(0);
  assert.ok(worker.stoppedWith !== undefined, "the old worker drains");
  worker.exit(0);
  await h.clock.advance(5000);
  assert.equal(forks(h).length, 2);
  assert.equal(named(h, "crashloop").length + named(h, "error").length, 0);
});

test("recycling by memory: a worker over maxMemory is replaced", async () => {
  const h = harness({ maxMemory: 1000, heartbeatInterval: 100 });
  const worker = h.supervisor.addSlot({}).worker.markReady();
  worker.beat(0, 999);
  await h.clock.advance(1000);
  assert.equal(named(h, "recycle").length, 0);
  worker.beat(0, 2000);
  await h.clock.advance(1000);
  assert.deepEqual(named(h, "recycle"), [["recycle", 1, "memory"]]);
});

const LOSS = "it serves with a server whose listener cannot be lent: some may be reset. To " +
  "avoid it, pass strictReloads: true";

test("warning: the first stop of a worker whose server may lose connections warns once", async () => {
  const h = harness();
  for (let i = 0; i < 3; i++) h.supervisor.addSlot({}).worker.markReady();
  for (const worker of h.workers) worker.lossOnClose = LOSS;
  const reload = h.supervisor.reload();
  for (let i = 3; i < 6; i++) {
    await h.clock.advance(0);
    h.workers[i].markReady();
    await h.clock.advance(0);
    h.workers[i - 3].exit(0);
  }
  await reload;
  const warnings = named(h, "warning");
  assert.deepEqual(warnings, [["warning", "RELOAD_MAY_RESET"]], "once, not per worker");
});

test("warning: printed with console.warn once when nobody listens; workers that can lend give none", async () => {
  const h = harness();
  h.listening = false;
  const printed: unknown[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => printed.push(args.join(" "));
  try {
    for (let i = 0; i < 3; i++) h.supervisor.addSlot({}).worker.markReady();
    const down = h.supervisor.scale(2);
    h.workers[2].exit(0);
    await down;
    assert.equal(printed.length, 0, "a worker that can lend its listener: no warning");
    h.workers[1].lossOnClose = LOSS;
    h.workers[0].lossOnClose = LOSS;
    const more = h.supervisor.scale(0);
    h.workers[1].exit(0);
    h.workers[0].exit(0);
    await more;
  } finally {
    console.warn = warn;
  }
  assert.equal(printed.length, 1);
  // The worker's server says what may be lost and what to do; the primary says which worker.
  assert.equal(
    printed[0],
    `[@x/cluster] Worker ${h.workers[1].id} (slot ${h.workers[1].slot}) is being ` +
      `replaced or removed, and ${LOSS}`,
  );
});

test("stop(): pending restarts are cancelled, unready slots fail with SHUT_DOWN, no more forks", async () => {
  const h = harness({ respawn: { base: 100 } });
  h.supervisor.addSlot({}).worker.markReady();
  const pending = h.supervisor.addSlot({}).ready;
  h.workers[0].exit(1);
  h.supervisor.stop();
  await h.clock.advance(60_000);
  assert.equal(forks(h).length, 2);
  await assert.rejects(pending, { code: "SHUT_DOWN" });
  assert.throws(() => h.supervisor.addSlot({}), { code: "SHUT_DOWN" });
});

test("reload: after a failure in one lane, the other lanes take no new slot", async () => {
  const h = harness({ reloadConcurrency: 2 });
  for (let i = 0; i < 4; i++) h.supervisor.addSlot({}).worker.markReady();
  const reload = h.supervisor.reload();
  const outcome = reload.then(() => undefined, (e: ClusterError) => e.code);
  await h.clock.advance(0);
  assert.deepEqual(forks(h).slice(4).map((f) => f[2]), [0, 1]);
  h.workers[4].exit(1); // slot 0's replacement fails
  await h.clock.advance(0);
  h.workers[5].markReady(); // slot 1's lane finishes its slot
  await h.clock.advance(0);
  h.workers[1].exit(0);
  assert.equal(await outcome, "RELOAD_FAILED");
  await h.clock.advance(1000);
  assert.deepEqual(forks(h).slice(4).map((f) => f[2]), [0, 1], "slots 2 and 3 keep their workers");
});

test("scale: a scale-up still waiting for a slot that a scale-down removed resolves", async () => {
  const h = harness();
  h.supervisor.addSlot({}).worker.markReady();
  const up = h.supervisor.scale(2);
  const down = h.supervisor.scale(1);
  h.workers[1].exit(0);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("the scale-up hangs")), 2000);
  });
  await Promise.race([Promise.all([up, down]), hung]).finally(() => clearTimeout(timer));
  assert.equal(h.supervisor.activeSlots, 1);
});
