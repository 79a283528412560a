// A bounded load generator for the supervision tests: keep-alive clients and new-connection
// clients together, against 127.0.0.1 only, until stopped. Every request's outcome is counted.

import http from "node:http";

/** What a load run saw. */
export interface LoadCounts {
  sent: number;
  answered: number;
  failed: number;
  errors: string[];
  bodies: Map<string, number>;
}

/** A running load; `stop()` ends it and resolves with the counts. */
export interface Load {
  counts: LoadCounts;
  stop(): Promise<LoadCounts>;
}

/**
 * Starts `keepAlive` keep-alive clients and `fresh` new-connection clients against `port`.
 * Each request must answer 200 within 5 s. Stops by itself after `maxMs` (default 30 s).
 *
 * @example
 * ```ts
 * import { describeCounts, startLoad } from "./_load.ts";
 *
 * const load = startLoad(8080, { keepAlive: 2, fresh: 2 });
 * const counts = await load.stop();
 * console.log(describeCounts(counts));
 * ```
 */
export function startLoad(
  port: number,
  { keepAlive = 2, fresh = 2, path = "/", maxMs = 30_000 } = {},
): Load {
  const counts: LoadCounts = { sent: 0, answered: 0, failed: 0, errors: [], bodies: new Map() };
  let running = true;
  const deadline = setTimeout(() => (running = false), maxMs);
  const agent = new http.Agent({ keepAlive: true, maxSockets: keepAlive });
  const one = (reuse: boolean) =>
    new Promise<void>((resolve) => {
      counts.sent++;
      const request = http.request({
        host: "127.0.0.1",
        port,
        path,
        agent: reuse ? agent : false,
        headers: reuse ? {} : { connection: "close" },
        timeout: 5000,
      }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => {
          if (response.statusCode === 200) {
            counts.answered++;
            const who = body.match(/worker \d+/)?.[0] ?? body;
            counts.bodies.set(who, (counts.bodies.get(who) ?? 0) + 1);
          } else {
            counts.failed++;
            counts.errors.push(`status ${response.statusCode}`);
          }
          resolve();
        });
        response.on("error", (error) => {
          counts.failed++;
          counts.errors.push(error.message);
          resolve();
        });
      });
      request.on("timeout", () => request.destroy(new Error("timeout")));
      request.on("error", (error: NodeJS.ErrnoException) => {
        counts.failed++;
        counts.errors.push(error.code ?? error.message);
        resolve();
      });
      request.end();
    });
  const loop = async (reuse: boolean) => {
    while (running) await one(reuse);
  };
  const loops = [
    ...Array.from({ length: keepAlive }, () => loop(true)),
    ...Array.from({ length: fresh }, () => loop(false)),
  ];
  return {
    counts,
    async stop() {
      running = false;
      clearTimeout(deadline);
      await Promise.all(loops);
      agent.destroy();
      return counts;
    },
  };
}

/**
 * Formats counts for assertion messages.
 *
 * @example
 * ```ts
 * import { describeCounts } from "./_load.ts";
 *
 * describeCounts({ sent: 2, answered: 2, failed: 0, errors: [], bodies: new Map() });
 * // "sent 2, answered 2, failed 0, by worker {}"
 * ```
 */
export function describeCounts(c: LoadCounts): string {
  return `sent ${c.sent}, answered ${c.answered}, failed ${c.failed}` +
    (c.errors.length ? ` (${[...new Set(c.errors)].slice(0, 5).join(", ")})` : "") +
    `, by worker ${JSON.stringify(Object.fromEntries(c.bodies))}`;
}
