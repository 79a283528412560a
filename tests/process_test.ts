// Tests for scripts/_process.ts on real process groups (a shell and its sleeps); every group is
// killed on every path.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import {
  groupMembers,
  killGroup,
  spawnGroup,
  stopGroup,
  waitForGroup,
} from "../scripts/_process.ts";

/** Runs `fn` with `sh -c script` started in its own group, once the group has `size` members. */
async function withGroup(
  script: string,
  size: number,
  fn: (child: ChildProcess, pgid: number) => Promise<void>,
): Promise<void> {
  const child = spawnGroup("sh", ["-c", script], { stdio: "ignore" });
  const pgid = child.pid!;
  try {
    const deadline = Date.now() + 10_000;
    while (groupMembers(pgid).length < size) {
      assert.ok(Date.now() < deadline, `the group never had ${size} members`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await fn(child, pgid);
  } finally {
    killGroup(pgid);
  }
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()));

test("groupMembers() lists the leader and what it started; stopGroup() ends them all", async () => {
  await withGroup("sleep 30 & sleep 30 & wait", 3, async (child, pgid) => {
    const members = groupMembers(pgid);
    assert.equal(members.length, 3);
    assert.ok(members.includes(pgid), "the leader's pid is the group's id");
    assert.deepEqual(await stopGroup(pgid, 5000), []);
    assert.deepEqual(groupMembers(pgid), []);
    await exited(child);
    assert.equal(child.signalCode, "SIGTERM");
  });
});

test("stopGroup() sends SIGKILL to members that ignore SIGTERM, after the grace", async () => {
  // An ignored signal stays ignored across exec, so the sleeps ignore SIGTERM too.
  await withGroup("trap '' TERM; sleep 30 & sleep 30; wait", 3, async (child, pgid) => {
    const start = Date.now();
    assert.deepEqual(await stopGroup(pgid, 300), []);
    assert.ok(Date.now() - start >= 300, "SIGKILL came before the grace ended");
    await exited(child);
    assert.equal(child.signalCode, "SIGKILL");
  });
});

test("members outlive their leader until the group is killed", async () => {
  await withGroup("sleep 30 & sleep 30 & exit 0", 2, async (child, pgid) => {
    await exited(child);
    assert.equal(child.exitCode, 0);
    assert.equal((await waitForGroup(pgid, 100)).length, 2, "the orphaned sleeps still run");
    assert.equal(killGroup(pgid), true);
    assert.deepEqual(await waitForGroup(pgid, 5000), []);
  });
});

test("killGroup() and stopGroup() of a group that is gone do nothing", async () => {
  await withGroup("exec sleep 30", 1, async (child, pgid) => {
    assert.equal(killGroup(pgid), true);
    await exited(child);
    assert.deepEqual(await waitForGroup(pgid, 5000), []);
    assert.equal(killGroup(pgid), false);
    assert.deepEqual(await stopGroup(pgid), []);
  });
});
