// Helpers of the compat tests: run a compat fixture, find a free port, send raw TCP requests.

import net from "node:net";
import type { App, Event } from "./_helpers.ts";

export { freePort } from "../scripts/_ports.ts";
export { withFixture } from "./_helpers.ts";
export type { Event };

/**
 * Connects to 127.0.0.1, reads until the server closes; resolves with what it said. Fails after
 * 10 s without an answer.
 *
 * @example
 * ```ts
 * import { tcpRead } from "./_compat_helpers.ts";
 *
 * const greeting = await tcpRead(8124);
 * ```
 */
export function tcpRead(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    const socket = net.connect(port, "127.0.0.1");
    // A test must fail, not hang, when the server never answers.
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer on port ${port}`)));
    socket.setEncoding("utf8").on("data", (chunk: string) => (data += chunk));
    socket.once("error", reject);
    socket.once("close", () => resolve(data));
  });
}

/**
 * Waits for the first event matching `match`.
 *
 * @example
 * ```ts
 * import { next, withFixture } from "./_compat_helpers.ts";
 *
 * await withFixture("compat_surface.ts", {}, async (app) => {
 *   const ready = await next(app, (e) => e.ev === "ready");
 * });
 * ```
 */
export async function next(
  app: App,
  match: (e: Event) => boolean,
  timeout?: number,
): Promise<Event> {
  return (await app.waitFor(match, 1, timeout))[0];
}
