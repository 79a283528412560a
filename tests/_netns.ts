// Runs tests/fixtures/native_reload.ts to its end, on the host or in a fresh network namespace
// (`unshare -n`, as root) whose own net.ipv4.tcp_migrate_req the run sets: the host's setting is
// never touched. The whole process group is killed on every path.

import { spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { command, type Event, fixture, runtime } from "./_helpers.ts";

/** Why a network namespace cannot be made here, or `undefined` if it can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") {
    return `network namespaces are Linux's, not ${process.platform}'s`;
  }
  if (process.getuid?.() !== 0) return "making a network namespace needs root";
  const probe = spawnSync("unshare", ["-n", "sh", "-c", "ip link set lo up"], { stdio: "ignore" });
  if (probe.error || probe.status !== 0) return "`unshare -n` or `ip` is not available";
  return undefined;
}

/** Deno flags that let workers serve with Deno.serve (reusePort needs --unstable-net). */
export const NATIVE_FLAGS: string[] = runtime === "deno" ? ["-A", "--unstable-net"] : [];

/** Options of {@linkcode runReloads}. */
export interface RunOptions {
  /** Run in a fresh network namespace with this tcp_migrate_req; on the host if unset. */
  sysctl?: 0 | 1;
  /** Runtime flags (see `command()`). */
  flags?: string[];
  /** Kill the run after this long. */
  timeoutMs?: number;
}

/** Runs the fixture with `env` until it exits; resolves with its JSON events. */
export function runReloads(env: Record<string, string>, o: RunOptions = {}): Promise<Event[]> {
  const { file, args } = command(fixture("native_reload.ts"), o.flags ?? NATIVE_FLAGS);
  const argv = o.sysctl === undefined ? [file, ...args] : [
    "unshare",
    "-n",
    "sh",
    "-c",
    `ip link set lo up && sysctl -qw net.ipv4.tcp_migrate_req=${o.sysctl} && exec "$@"`,
    "sh",
    file,
    ...args,
  ];
  const child = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const events: Event[] = [];
  let out = "", err = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const killGroup = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  };
  return new Promise<Event[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup();
      reject(
        new Error(`The run timed out.\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`),
      );
    }, o.timeoutMs ?? 120_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      killGroup(); // workers that outlived their primary, if any
      for (const line of out.split("\n")) {
        if (line.startsWith("{")) events.push(JSON.parse(line));
      }
      if (code === 0) resolve(events);
      else {reject(
          new Error(
            `The run exited with ${code}.\nstdout: ${out.slice(-2000)}\nstderr: ${
              err.slice(-2000)
            }`,
          ),
        );}
    });
  });
}

/** The servers the run reported, and its load result (if it reloaded). */
export function summary(events: Event[]): {
  bound: Event[];
  result: Event & { perReload: number[]; answered: number; failed: number; errors: string[] };
} {
  const bound = events.filter((e) => e.ev === "bound");
  const result = events.find((e) => e.ev === "result") as ReturnType<typeof summary>["result"];
  return { bound, result };
}
