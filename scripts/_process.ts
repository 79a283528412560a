// Process groups: the one copy of the spawn / kill / liveness code that the test runner, the npm
// build, the benchmarks and the test helpers share. Runs under node, deno and bun (node:* only).
//
// A command is spawned as the leader of its own process group (`detached`), so that everything it
// starts (cluster workers included) can be signalled at once with kill(-pgid), even after the
// leader itself has exited. POSIX only: on Windows `detached` means something else.

import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import process from "node:process";

/** How often {@linkcode waitForGroup} looks at the group again. */
const POLL_MS = 20;
/** How long {@linkcode stopGroup} waits for the group to vanish after SIGKILL. */
const KILL_WAIT_MS = 2000;

/**
 * Spawns `command` as the leader of a new process group whose id is the child's pid. Options are
 * those of `child_process.spawn`; `detached` is always set.
 *
 * @example Run a script and kill everything it started
 * ```ts
 * import { killGroup, spawnGroup } from "./_process.ts";
 *
 * const child = spawnGroup("node", ["app.ts"], { stdio: "ignore" });
 * child.once("exit", () => killGroup(child.pid!)); // workers it left behind die too
 * ```
 */
export function spawnGroup(command: string, args: string[], options: SpawnOptions): ChildProcess {
  return spawn(command, args, { ...options, detached: true });
}

/**
 * Sends `signal` to every process of the group `pgid`.
 *
 * @returns false if the group had no process left, not even a zombie (nothing was signalled).
 * @example Kill a group started with spawnGroup()
 * ```ts
 * import { killGroup, spawnGroup } from "./_process.ts";
 *
 * const child = spawnGroup("sleep", ["60"], { stdio: "ignore" });
 * if (!killGroup(child.pid!, "SIGTERM")) console.log("it had already ended");
 * ```
 */
export function killGroup(pgid: number, signal: NodeJS.Signals = "SIGKILL"): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

/**
 * The pids of the live members of group `pgid`. On Linux it reads /proc and leaves out zombies
 * (exited, not yet reaped), which kill(-pgid, 0) would still report; elsewhere it can only tell
 * whether the group has any process at all, and then returns `[pgid]`.
 *
 * @example Check that a command left no worker behind
 * ```ts
 * import { groupMembers, spawnGroup } from "./_process.ts";
 *
 * const child = spawnGroup("node", ["app.ts"], { stdio: "ignore" });
 * child.once("exit", () => console.log("still running:", groupMembers(child.pid!)));
 * ```
 */
export function groupMembers(pgid: number): number[] {
  if (!existsSync("/proc/self/stat")) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "latin1");
    } catch {
      continue; // the process went away meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may contain spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") pids.push(Number(name));
  }
  return pids;
}

/**
 * Waits until group `pgid` has no live member, or `timeoutMs` passed.
 *
 * @returns the members still alive at the end: empty if the group is gone.
 * @example Give a command's workers a moment to exit on their own
 * ```ts
 * import { killGroup, spawnGroup, waitForGroup } from "./_process.ts";
 *
 * const child = spawnGroup("node", ["app.ts"], { stdio: "ignore" });
 * child.once("exit", async () => {
 *   const left = await waitForGroup(child.pid!, 3000);
 *   if (left.length) killGroup(child.pid!);
 * });
 * ```
 */
export async function waitForGroup(pgid: number, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let members = groupMembers(pgid);
  while (members.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    members = groupMembers(pgid);
  }
  return members;
}

/**
 * Stops group `pgid` gracefully: SIGTERM, up to `graceMs` for it to end, then SIGKILL to whatever
 * is left and up to 2 s more until no member is left.
 *
 * @returns the members that survived even SIGKILL (normally none).
 * @example Stop a server and its workers
 * ```ts
 * import { spawnGroup, stopGroup } from "./_process.ts";
 *
 * const child = spawnGroup("node", ["server.ts"], { stdio: "ignore" });
 * const survivors = await stopGroup(child.pid!, 2000);
 * if (survivors.length) console.error("still alive:", survivors);
 * ```
 */
export async function stopGroup(pgid: number, graceMs = 2000): Promise<number[]> {
  if (!killGroup(pgid, "SIGTERM")) return [];
  if (!(await waitForGroup(pgid, graceMs)).length) return [];
  killGroup(pgid, "SIGKILL");
  return await waitForGroup(pgid, KILL_WAIT_MS);
}
