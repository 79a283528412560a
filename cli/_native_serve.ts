// Deno.serve and Bun.serve in a CLI worker: the user's call runs as written, with
// `reusePort: true` added, so that every worker binds the script's port and Linux spreads the
// connections over them; once bound, the worker is ready, tells the primary where it listens,
// and stops the server gracefully when the cluster stops the worker (reload, scale-down,
// shutdown). Each server is the runtime's own, with all its options (TLS, WebSockets, routes).
//
// Why not Cluster.worker.serve(), which would also count requests for --max-requests: the
// adapters call Deno.serve / Bun.serve through the global namespace, so the interception
// would catch their own calls too, and on Bun the namespace cannot be swapped for a copy
// (`globalThis.Bun` is not configurable). What this costs is noted in docs/cli.md.

import process from "node:process";
import type { ClusterWorker, Policy } from "../mod.ts";

/** What an intercepted server reports. */
export interface NativeServeHooks {
  /** A server is bound at `hostname:port` (the worker is ready). */
  bound(engine: string, hostname: string, port: number): void;
  /** Something the user should know, printed once by the primary. */
  notice(text: string): void;
}

/** What the worker was started with that a native server cannot honour. */
export interface NativeServeSettings {
  maxRequests: number;
  policy: Policy | undefined;
}

interface Address {
  hostname?: string;
  port?: number;
}
type Serve = (...args: unknown[]) => unknown;

/** `options` with `reusePort: true`, keeping its prototype (methods such as `fetch`). */
function withReusePort(options: object): object {
  return Object.assign(Object.create(Object.getPrototypeOf(options)), options, { reusePort: true });
}

/**
 * Makes `Deno.serve` and `Bun.serve` (whichever this runtime has) bind with `reusePort` and
 * report to the cluster.
 *
 * @example
 * ```ts ignore
 * import { Cluster } from "@x/cluster";
 * import { interceptNativeServe } from "./_native_serve.ts";
 * interceptNativeServe(Cluster.worker, { maxRequests: 0, policy: undefined }, {
 *   bound: (engine, hostname, port) => console.log(engine, hostname, port),
 *   notice: (text) => console.warn(text),
 * });
 * ```
 */
export function interceptNativeServe(
  worker: ClusterWorker,
  settings: NativeServeSettings,
  hooks: NativeServeHooks,
): void {
  const g = globalThis as { Deno?: { serve?: Serve }; Bun?: { serve?: Serve } };
  const namespace = g.Deno ?? g.Bun;
  const engine = g.Deno ? "Deno.serve" : "Bun.serve";
  const original = namespace?.serve;
  if (!namespace || typeof original !== "function") return;

  const started = (address: Address, stop: () => unknown): void => {
    for (const text of caveats(engine, settings)) hooks.notice(text);
    hooks.bound(engine, address.hostname ?? "0.0.0.0", address.port ?? 0);
    const shutDown = () => worker.waitUntil(Promise.resolve(stop()).catch(() => {}));
    if (worker.signal.aborted) shutDown();
    else worker.once("shutdown", shutDown);
  };

  namespace.serve = function serve(this: unknown, ...args: unknown[]): unknown {
    const [first] = args;
    if (g.Deno) {
      // Deno.serve(handler), Deno.serve(options, handler), Deno.serve({ ...options, handler }).
      const options = typeof first === "function" ? {} : first;
      const rest = typeof first === "function" ? args : args.slice(1);
      if (!isTcp(options, "Deno.serve")) return unshared(hooks, engine, original, namespace, args);
      const server = original.call(
        namespace,
        withOnListen(withReusePort(options as object)),
        ...rest,
      ) as {
        addr: Address;
        shutdown(): Promise<void>;
      };
      started(server.addr, () => server.shutdown());
      return server;
    }
    if (!isTcp(first, "Bun.serve")) return unshared(hooks, engine, original, namespace, args);
    const server = original.call(namespace, withReusePort(first as object), ...args.slice(1)) as
      & Address
      & { stop(closeActiveConnections?: boolean): unknown };
    started(server, () => server.stop());
    return server;
  };
}

/**
 * Deno.serve's options with its default "Listening on …" line printed through `console`, so
 * that it is prefixed like the worker's other output (Deno prints its own past `console`).
 */
function withOnListen(options: object): object {
  if ((options as { onListen?: unknown }).onListen !== undefined) return options;
  return Object.assign(options, {
    onListen: ({ hostname, port }: { hostname: string; port: number }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      console.error(`Listening on http://${host}:${port}/`);
    },
  });
}

/** Whether a server with `options` listens on TCP (not a Unix socket). */
function isTcp(options: unknown, engine: string): boolean {
  if (typeof options !== "object" || options === null) return false;
  const o = options as { path?: unknown; transport?: unknown; unix?: unknown };
  return engine === "Bun.serve"
    ? o.unix === undefined
    : o.path === undefined && (o.transport === undefined || o.transport === "tcp");
}

/** A server the cluster cannot share (a Unix socket): started as written, with a notice. */
function unshared(
  hooks: NativeServeHooks,
  engine: string,
  original: Serve,
  namespace: object,
  args: unknown[],
): unknown {
  hooks.notice(
    `${engine} on a Unix socket is not shared between workers: each worker binds it alone ` +
      "(run one worker, or serve on a port)",
  );
  return original.apply(namespace, args);
}

/** What a native server in this run does not do, as the user asked it to. */
function caveats(engine: string, settings: NativeServeSettings): string[] {
  const notes: string[] = [];
  if (process.platform !== "linux") {
    notes.push(
      `${engine} shares its port through SO_REUSEPORT, which spreads connections between ` +
        `processes only on Linux: on ${process.platform} one worker may get them all`,
    );
  }
  if (settings.policy !== undefined && settings.policy !== "reuse-port") {
    notes.push(
      `${engine} binds its own SO_REUSEPORT socket in each worker: --policy ${settings.policy} ` +
        "applies to node:http and node:net servers only",
    );
  }
  if (settings.maxRequests > 0) {
    notes.push(
      `--max-requests does not count the requests of ${engine} servers (the cluster counts ` +
        "those of the servers it runs): their workers are not recycled by request count",
    );
  }
  return notes;
}
