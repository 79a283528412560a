// Test helpers: run a fixture program under the runtime running the tests, read its JSON event
// lines, and kill its whole process group on every path.

import type { ChildProcess } from "node:child_process";
import net from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { killGroup, spawnGroup } from "../scripts/_process.ts";

/**
 * The runtime running this test file.
 *
 * @example
 * ```ts
 * import { runtime } from "./_helpers.ts";
 *
 * const flags = runtime === "deno" ? ["-A", "--unstable-net"] : [];
 * ```
 */
export const runtime: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/**
 * Absolute path of a fixture.
 *
 * @example
 * ```ts
 * import { fixture } from "./_helpers.ts";
 *
 * fixture("app.ts"); // ".../tests/fixtures/app.ts"
 * ```
 */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/**
 * Command that runs `script` under this runtime (Deno: `-A` unless `flags` are given).
 *
 * @example
 * ```ts
 * import { command, fixture } from "./_helpers.ts";
 *
 * const { file, args } = command(fixture("app.ts")); // under deno: deno run -A …/app.ts
 * ```
 */
export function command(script: string, flags: string[] = []): { file: string; args: string[] } {
  if (runtime === "deno") {
    return { file: process.execPath, args: ["run", ...(flags.length ? flags : ["-A"]), script] };
  }
  return { file: process.execPath, args: [...flags, script] };
}

/** One JSON line a fixture printed: `ev` names the event. */
export type Event = Record<string, unknown> & { ev: string };

/**
 * A running fixture, in its own process group: its stdout read as JSON event lines, its stderr
 * kept for failure messages. Prefer {@linkcode withFixture}, which always kills it.
 *
 * @example
 * ```ts
 * import { App, fixture } from "./_helpers.ts";
 *
 * const app = new App(fixture("app.ts"), { APP_WORKERS: "1" });
 * try {
 *   await app.waitFor((e) => e.ev === "started");
 * } finally {
 *   app.kill();
 * }
 * ```
 */
export class App {
  readonly child: ChildProcess;
  readonly events: Event[] = [];
  readonly stderr: string[] = [];
  #waiters: Array<() => void> = [];
  #exit: Promise<{ code: number | null; signal: string | null }>;

  constructor(script: string, env: Record<string, string>, flags: string[] = []) {
    const { file, args } = command(script, flags);
    this.child = spawnGroup(file, args, {
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let buffer = "";
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line));
        } catch {
          this.stderr.push(`stdout: ${line}`);
        }
        for (const wake of this.#waiters.splice(0)) wake();
      }
    });
    this.child.stderr!.setEncoding("utf8").on("data", (c: string) => this.stderr.push(c));
    this.#exit = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => {
        resolve({ code, signal });
        for (const wake of this.#waiters.splice(0)) wake();
      })
    );
  }

  /** Sends a command line to the primary. */
  command(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(JSON.stringify(cmd) + "\n");
  }

  /** Waits until `count` events match `match`; returns them. */
  async waitFor(match: (e: Event) => boolean, count = 1, timeout = 15_000): Promise<Event[]> {
    const deadline = Date.now() + timeout;
    while (true) {
      const found = this.events.filter(match);
      if (found.length >= count) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out waiting for ${count} matching event(s). Events: ${
            JSON.stringify(this.events)
          }\nstderr: ${this.stderr.join("").slice(-2000)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(200, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves when the primary exits. */
  exited(): Promise<{ code: number | null; signal: string | null }> {
    return this.#exit;
  }

  /** Kills the whole process group (primary and workers). Safe to call twice. */
  kill(): void {
    if (this.child.pid !== undefined) killGroup(this.child.pid);
  }
}

/**
 * Whether a process is alive (a zombie counts as alive).
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { alive } from "./_helpers.ts";
 *
 * alive(process.pid); // true
 * ```
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * One HTTP request on a new connection to 127.0.0.1; resolves with the body, fails after 10 s.
 *
 * @example
 * ```ts
 * import { get } from "./_helpers.ts";
 *
 * const body = await get(8080, "/slow"); // e.g. "worker 1"
 * ```
 */
export async function get(port: number, path = "/"): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { connection: "close" },
    signal: AbortSignal.timeout(10_000), // fail, never hang
  });
  return await response.text();
}

/**
 * Occupies a port on 127.0.0.1, for EADDRINUSE tests; close the server when done.
 *
 * @example
 * ```ts
 * import type { AddressInfo } from "node:net";
 * import { occupyPort } from "./_helpers.ts";
 *
 * const server = await occupyPort();
 * const { port } = server.address() as AddressInfo;
 * server.close();
 * ```
 */
export function occupyPort(): Promise<net.Server> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/**
 * Runs `fn` with fixture `name` started (under `env`, `flags`) and always kills it. A failure's
 * message gets the fixture's events and the end of its stderr.
 *
 * @example
 * ```ts
 * import { withFixture } from "./_helpers.ts";
 *
 * await withFixture("compat_surface.ts", {}, async (app) => {
 *   await app.waitFor((e) => e.ev === "ready");
 * });
 * ```
 */
export async function withFixture<T>(
  name: string,
  env: Record<string, string>,
  fn: (app: App) => Promise<T>,
  flags: string[] = [],
): Promise<T> {
  const app = new App(fixture(name), env, flags);
  try {
    return await fn(app);
  } catch (error) {
    const context = `\nevents: ${JSON.stringify(app.events)}\nstderr: ${
      app.stderr.join("").slice(-3000)
    }`;
    try {
      (error as Error).message += context;
    } catch {
      // A message with only a getter (Deno's timeout DOMException): wrap it instead.
      throw new Error(`${(error as Error)?.message ?? error}${context}`, { cause: error });
    }
    throw error;
  } finally {
    app.kill();
  }
}

/**
 * Runs `fn` with the remote-controlled cluster fixture (fixtures/app.ts, configured by its
 * APP_* variables) started, and always kills it.
 *
 * @example
 * ```ts
 * import { withApp } from "./_helpers.ts";
 *
 * await withApp({ APP_WORKERS: "2" }, async (app) => {
 *   await app.waitFor((e) => e.ev === "ready", 2);
 *   app.command({ cmd: "shutdown" });
 * });
 * ```
 */
export function withApp<T>(
  env: Record<string, string>,
  fn: (app: App) => Promise<T>,
  flags: string[] = [],
): Promise<T> {
  return withFixture("app.ts", env, fn, flags);
}
