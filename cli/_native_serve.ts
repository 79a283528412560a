// Deno.serve and Bun.serve in a CLI worker: the user's call runs as written, with
// `reusePort: true` added, so that every worker binds the script's port and Linux spreads the
// connections over them; once bound, the worker is ready, tells the primary where it listens,
// and stops the server gracefully when the cluster stops the worker (reload, scale-down,
// shutdown). Each server is the runtime's own, with all its options (TLS, WebSockets, routes).
//
// The user's handler (Deno.serve's handler, Bun.serve's `fetch` and its `routes` functions) is
// wrapped with a counter that the worker reports through `countRequests()`, so that status,
// /metrics and --max-requests see the requests; Bun's static `routes` (a Response) are answered
// without JavaScript and are not counted (a notice says so).
//
// Why not Cluster.worker.serve(): the adapters call Deno.serve / Bun.serve through the global
// namespace, so the interception would catch their own calls too, and on Bun the namespace
// cannot be swapped for a copy (`globalThis.Bun` is not configurable).

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
type Handler = (this: unknown, request: unknown, second: unknown) => unknown;

/** Requests that the wrapped handlers of this worker's native servers received. */
class RequestCount {
  served = 0;

  /** `handler`, counting each call; undefined for anything that is not a function. */
  wrap(handler: unknown): Handler | undefined {
    return typeof handler === "function" ? counted(handler as Handler, this) : undefined;
  }
}

/** `handler` with `count.served` incremented at each call (one add: the hot path). */
function counted(handler: Handler, count: { served: number }): Handler {
  return function counted(this: unknown, request: unknown, second: unknown): unknown {
    count.served++;
    return handler.call(this, request, second);
  };
}

/**
 * Bun.serve's options with `fetch` and every function in `routes` (also per method) counted;
 * sets `staticRoutes` when a route is a Response (Bun answers it without JavaScript).
 */
function countBunOptions(
  options: object,
  count: RequestCount,
  seen: { staticRoutes: boolean },
): object {
  const o = options as { fetch?: unknown; routes?: unknown };
  const fetch = count.wrap(o.fetch);
  const counted: Record<string, unknown> = fetch ? { fetch } : {};
  if (typeof o.routes === "object" && o.routes !== null) {
    const routes: Record<string, unknown> = {};
    for (const [path, route] of Object.entries(o.routes)) {
      if (typeof route === "function") routes[path] = count.wrap(route);
      else if (isMethodMap(route)) {
        const methods: Record<string, unknown> = {};
        for (const [method, answer] of Object.entries(route)) {
          if (answer instanceof Response) seen.staticRoutes = true;
          methods[method] = count.wrap(answer) ?? answer;
        }
        routes[path] = methods;
      } else {
        // A Response or an HTML import: Bun answers it itself.
        routes[path] = route;
        if (typeof route === "object" && route !== null) seen.staticRoutes = true;
      }
    }
    counted.routes = routes;
  }
  return Object.assign(options, counted);
}

/** Whether a Bun route is a plain object of per-method answers (`{ GET: fn, POST: fn }`). */
function isMethodMap(route: unknown): route is Record<string, unknown> {
  if (typeof route !== "object" || route === null) return false;
  if (Object.getPrototypeOf(route) !== Object.prototype) return false;
  const keys = Object.keys(route);
  return keys.length > 0 && keys.every((key) => /^[A-Z]+$/.test(key));
}

/** A copy of `options` that keeps its prototype (methods such as `fetch`). */
function withCopy(options: object): object {
  return Object.assign(Object.create(Object.getPrototypeOf(options)), options);
}

/** A copy of `options` with `reusePort: true`. */
function withReusePort(options: object): object {
  return Object.assign(withCopy(options), { reusePort: true });
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
  const count = new RequestCount();
  worker.countRequests(() => count.served);
  const seen = { staticRoutes: false };

  const started = (address: Address, stop: () => unknown): void => {
    for (const text of caveats(engine, settings, seen.staticRoutes)) hooks.notice(text);
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
      const handler = count.wrap(rest[0]);
      if (handler) rest[0] = handler;
      const own = options as { handler?: unknown } | null;
      const optionsHandler = typeof own === "object" && own !== null
        ? count.wrap(own.handler)
        : undefined;
      const counted = optionsHandler ? { ...own, handler: optionsHandler } : options;
      if (!isTcp(options, "Deno.serve")) {
        return unshared(
          hooks,
          engine,
          original,
          namespace,
          typeof first === "function" ? rest : [counted, ...rest],
        );
      }
      const server = original.call(
        namespace,
        withOnListen(withReusePort(counted as object)),
        ...rest,
      ) as {
        addr: Address;
        shutdown(): Promise<void>;
      };
      started(server.addr, () => server.shutdown());
      return server;
    }
    if (!isTcp(first, "Bun.serve")) {
      const counted = countBunOptions(withCopy(first as object), count, seen);
      return unshared(hooks, engine, original, namespace, [counted, ...args.slice(1)]);
    }
    const options = countBunOptions(withReusePort(first as object), count, seen);
    const server = original.call(namespace, options, ...args.slice(1)) as
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
function caveats(engine: string, settings: NativeServeSettings, staticRoutes: boolean): string[] {
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
  if (staticRoutes) {
    notes.push(
      `${engine} answers static routes (a Response in "routes") without JavaScript: their ` +
        "requests are not counted in status, /metrics or --max-requests",
    );
  }
  return notes;
}
