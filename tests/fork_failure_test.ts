// A fork that fails before a process exists (the `execArgv` function throws or returns a
// non-array, which compat's per-fork execArgv goes through): start(), scale() and reload()
// settle with the failure instead of waiting forever (review R7), and `fork` comes before
// `exit`. The workers that do start are real processes (tests/fixtures/obs_app.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Cluster, type ClusterOptions } from "../mod.ts";
import { fixture } from "./_helpers.ts";

/** Fails instead of hanging when `promise` never settles (the timer is always cleared). */
async function within<T>(promise: Promise<T>, ms = 15_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A cluster of obs_app.ts workers whose execArgv function fails for worker ids in `bad`. */
function cluster(bad: (id: number) => boolean, options: ClusterOptions = {}): {
  cluster: Cluster;
  events: string[];
} {
  const events: string[] = [];
  const c = new Cluster({
    workers: 1,
    exec: fixture("obs_app.ts"),
    env: { OBS_PORT: "0" },
    signals: false,
    respawn: false,
    execArgv: (inherited, { id }) => {
      if (bad(id)) throw new Error(`no flags for worker ${id}`);
      return [...inherited];
    },
    ...options,
  });
  c.on("fork", (w) => events.push(`fork ${w.id}`));
  c.on("exit", (w) => events.push(`exit ${w.id}`));
  c.on("error", () => {});
  return { cluster: c, events };
}

test("start() rejects when every fork fails synchronously; fork comes before exit", async () => {
  const { cluster: c, events } = cluster(() => true);
  try {
    await assert.rejects(within(c.start()), { code: "WORKER_START_FAILED" });
    assert.deepEqual(events, ["fork 1", "exit 1"]);
    assert.deepEqual(c.stats().workers, [], "the failed worker is not kept in stats()");
  } finally {
    await within(c.shutdown({ timeout: 2000 }));
  }
});

test("start() settles when a failing fork is respawned until the slot crash-loops", async () => {
  const { cluster: c } = cluster(() => true, {
    respawn: { base: 10, maxRestarts: 2, window: 60_000 },
  });
  try {
    await assert.rejects(within(c.start()));
  } finally {
    await within(c.shutdown({ timeout: 2000 }));
  }
});

test("scale() and reload() reject when the new fork fails synchronously", async () => {
  const { cluster: c } = cluster((id) => id > 1);
  try {
    await within(c.start());
    await assert.rejects(within(c.scale(2)));
    await assert.rejects(within(c.reload()));
    assert.equal(c.stats().workers.filter((w) => w.ready).length, 1, "worker 1 serves on");
  } finally {
    await within(c.shutdown({ timeout: 2000 }));
  }
});
