// The options of `Cluster.worker.serve()` / `listen()` and their validation, checked in the
// worker before a query goes to the primary.

import type { Policy } from "./types.ts";
import { POLICIES } from "./types.ts";
import { type SchedulerName, SCHEDULERS } from "./scheduler_types.ts";

/** The longest socket `path` (a query key must stay under 300 characters; Linux allows 107). */
export const MAX_PATH = 255;

/** Where a worker's server listens. */
export interface ServeOptions {
  /** Port; all workers asking for 0 share one real port chosen once. @default 0 */
  port?: number;
  /**
   * A Unix domain socket to listen on instead of a TCP port (Node's `listen(path)`): the
   * primary binds it, from its own working directory if the path is relative, and hands its
   * connections to the workers round-robin, whatever the cluster's `policy`. Not `"shared"`:
   * closing the primary's copy of a socket it bound removes the socket file (Node, Deno and
   * Bun), and the public APIs cannot bind without that copy; not `"reuse-port"`: workers
   * binding one path do not share it. Not with `port`, `hostname` or `ipv6Only`. The socket
   * file is removed when its last worker stops serving it. @default none: a TCP port
   */
  path?: string;
  /** Interface to bind. @default all interfaces */
  hostname?: string;
  /** Overrides the cluster's policy for this address. @default the cluster's `policy` */
  policy?: Policy;
  /** Listen backlog. @default the runtime's */
  backlog?: number;
  /**
   * Overrides the cluster's `scheduler` for this address with a built-in one (a function can
   * only be given to the Cluster, in the primary). Needs policy `"round-robin"` (the default
   * when it is set). @default the cluster's `scheduler`
   */
  scheduler?: SchedulerName;
  /**
   * Bind IPv6 only: with host `::`, IPv4 stays free for others (Node's `ipv6Only`). Not with
   * policy `"reuse-port"` (refused with `UNSUPPORTED`). @default false
   */
  ipv6Only?: boolean;
  /**
   * `serve()` only, where the handler runs behind node:http (Node): `globalThis.Response`
   * becomes a class that records what a handler's `new Response(body, init)` was given and
   * writes that, building the runtime's own Response only when something reads its body (about
   * twice the requests per second of undici's Response; docs/performance.md). `instanceof
   * Response` and the Response API stay as they are; `false` keeps the runtime's own class, for
   * code that hands responses to native APIs. No effect on Deno and Bun, whose servers read
   * their own Response without that cost. @default true
   */
  fastResponse?: boolean;
}

/**
 * Throws a `TypeError`/`RangeError` naming the bad field of `o`, before anything is sent to the
 * primary.
 *
 * @example
 * ```ts
 * import { validateServeOptions } from "./serve_options.ts";
 * validateServeOptions({ port: 8000 }); // fine
 * ```
 */
export function validateServeOptions(o: ServeOptions): void {
  if (typeof o !== "object" || o === null) throw new TypeError("Serve options must be an object");
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) {
    throw new RangeError(`Invalid port: expected an integer from 0 to 65535, got ${o.port}`);
  }
  if (o.hostname !== undefined && typeof o.hostname !== "string") {
    throw new TypeError(`Invalid hostname: expected a string, got ${typeof o.hostname}`);
  }
  if (o.path !== undefined) {
    if (typeof o.path !== "string" || o.path === "" || o.path.length > MAX_PATH) {
      throw new TypeError(
        `Invalid path: expected a socket path of 1 to ${MAX_PATH} characters, got ${
          typeof o.path === "string" ? `${o.path.length} characters` : typeof o.path
        }`,
      );
    }
    const tcp = (["port", "hostname", "ipv6Only"] as const).filter((k) => o[k] !== undefined);
    if (tcp.length > 0) {
      throw new TypeError(
        `Invalid options: path names a Unix socket, ${tcp.join(" and ")} a TCP one; give one`,
      );
    }
    if (o.policy !== undefined && o.policy !== "round-robin") {
      throw new TypeError(
        `Invalid policy "${o.policy}" for a Unix socket: it is always "round-robin"`,
      );
    }
  }
  if (o.ipv6Only !== undefined && typeof o.ipv6Only !== "boolean") {
    throw new TypeError(`Invalid ipv6Only: expected a boolean, got ${typeof o.ipv6Only}`);
  }
  if (o.fastResponse !== undefined && typeof o.fastResponse !== "boolean") {
    throw new TypeError(`Invalid fastResponse: expected a boolean, got ${typeof o.fastResponse}`);
  }
  if (o.policy !== undefined && !POLICIES.includes(o.policy)) {
    throw new TypeError(`Invalid policy "${o.policy}": use one of ${POLICIES.join(", ")}`);
  }
  if (o.scheduler !== undefined && !SCHEDULERS.includes(o.scheduler)) {
    const hint = typeof o.scheduler === "function"
      ? "a function can only be the Cluster's `scheduler` option, in the primary"
      : `use one of ${SCHEDULERS.join(", ")}`;
    throw new TypeError(`Invalid scheduler ${describeValue(o.scheduler)}: ${hint}`);
  }
}

function describeValue(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : `(a ${typeof value})`;
}
