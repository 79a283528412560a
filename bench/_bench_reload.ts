// Reloads under load of bench/run.ts: bench/_reload.ts once per value of
// net.ipv4.tcp_migrate_req. As root, each runs in a fresh network namespace (`unshare -n`, with
// its own loopback and its own copy of the sysctl, set with `sysctl -w` inside it only): the
// host's value is never touched. Without root, only the host's value is measured.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { binary, HERE, Proc, type Runtime } from "./_lib.ts";
import type { ReloadSample, RuntimeResults } from "./_results.ts";

/** Lengths and load of the reload runs. */
export interface ReloadSettings {
  rounds: number;
  reloads: number;
  connections: number;
  warmupMs: number;
  settleMs: number;
}

/** The host's net.ipv4.tcp_migrate_req ("0", "1", or "absent" where the kernel has none). */
export function hostMigrateReq(): string {
  try {
    return readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim();
  } catch {
    return "absent";
  }
}

/** Why a fresh network namespace cannot be made here, or undefined if it can. */
export function namespaceUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not root: `unshare -n` needs CAP_SYS_ADMIN";
  try {
    execFileSync("unshare", ["-n", "true"], { stdio: "ignore" });
    return undefined;
  } catch (error) {
    return `\`unshare -n true\` failed: ${(error as Error).message.split("\n")[0]}`;
  }
}

interface Output {
  log?: string;
  results?: Record<string, Record<string, ReloadSample[]>>;
  skipped?: Record<string, Record<string, string>>;
  failures?: Record<string, Record<string, string>>;
}

/**
 * Runs the reload benchmark for `modes` on `runtimes` at each value of tcp_migrate_req it can
 * get, into each runtime's `reload` ("mode|value"), `skipped` and `failed`.
 *
 * @returns caveats for the report (a value that could not be measured, and why).
 * @example
 * ```ts
 * await reload(["node"], ["default"], byRuntime, settings, console.error);
 * ```
 */
export async function reload(
  runtimes: Runtime[],
  modes: string[],
  into: Record<string, RuntimeResults>,
  s: ReloadSettings,
  log: (line: string) => void,
): Promise<string[]> {
  const caveats: string[] = [];
  const noNamespace = namespaceUnavailable();
  const host = hostMigrateReq();
  const values = noNamespace ? [host] : ["0", "1"];
  if (noNamespace) {
    caveats.push(
      `Reloads were measured at the host's tcp_migrate_req=${host} only (${noNamespace}).`,
    );
  }
  const script = [
    binary("node"),
    join(HERE, "_reload.ts"),
    JSON.stringify({ runtimes, modes, ...s }),
  ];
  for (const value of values) {
    // sh's $0 is the value, "$@" the command; `exec` keeps the process group's leader one process.
    const inside = 'ip link set lo up && sysctl -q -w net.ipv4.tcp_migrate_req="$0" && exec "$@"';
    const [file, args] = noNamespace
      ? [script[0], script.slice(1)]
      : ["unshare", ["-n", "sh", "-c", inside, value, ...script]];
    log(`  tcp_migrate_req=${value}${noNamespace ? " (host)" : " (own network namespace)"}`);
    const proc = new Proc(file, args, `reload at tcp_migrate_req=${value}`);
    try {
      for (;;) {
        const out = await proc.next<Output>(1_800_000, "the reload results");
        if (out.log) {
          log(`  ${out.log}`);
          continue;
        }
        for (const [runtime, byMode] of Object.entries(out.results ?? {})) {
          for (const [mode, samples] of Object.entries(byMode)) {
            into[runtime].reload[`${mode}|${value}`] = samples;
          }
        }
        for (const [kind, table] of [["skipped", out.skipped], ["failed", out.failures]] as const) {
          for (const [runtime, byMode] of Object.entries(table ?? {})) {
            for (const [mode, why] of Object.entries(byMode)) {
              into[runtime][kind][`reload ${mode}|${value}`] = why;
            }
          }
        }
        break;
      }
    } catch (error) {
      for (const runtime of runtimes) {
        into[runtime].failed[`reload *|${value}`] = (error as Error).message;
      }
      log(`  FAILED reload at tcp_migrate_req=${value}: ${(error as Error).message}`);
    } finally {
      await proc.stop();
    }
  }
  return caveats;
}
