// A runtime's own HTTP server (Deno.serve, Bun.serve) behind the `WorkerServer` shape, closed so
// that a reload loses as little as the kernel allows: such a server binds its own socket and can
// neither adopt nor lend one (denoland/deno#6529, oven-sh/bun#36491).

import type { FetchHandler, ServerEngine, ServeSource, WorkerServer } from "../src/types.ts";
import { IDLE_GRACE_MS, kernelMigratesQueuedConnections } from "./_http_server.ts";

/** A runtime's own server as {@linkcode nativeServer} drives it. */
export interface NativeListener {
  /** The bound address. */
  hostname: string;
  port: number;
  /**
   * Closes the listener (at once, where the runtime allows) and lets in-flight requests
   * finish; resolves once the server stopped.
   */
  stop(): Promise<void>;
}

/**
 * Runs a runtime's own server (Deno.serve, Bun.serve) as a WorkerServer: `start` binds it with
 * our handler and returns its address and how to stop it.
 *
 * Its listener cannot be lent to a replacement, so closing it loses the connections queued on
 * it (or still in their handshake) unless the kernel migrates them
 * (`net.ipv4.tcp_migrate_req=1`). `close()` first answers every request with
 * `Connection: close` for IDLE_GRACE_MS and only then stops: both servers close idle keep-alive
 * connections at once on stop, under the requests clients are writing (measured on Bun, 2
 * workers, 8 keep-alive + 8 new-connection clients: 8–17 failed requests per rolling reload
 * without this, 0 with it at sysctl 1).
 * Waiting for an empty accept queue (/proc/net/tcp `rx_queue`) before stopping was measured too
 * and removed: the queue read empty at every close, yet 1–4 requests per reload still failed
 * at sysctl 0 — connections in their handshake, which no per-listener check can see.
 */
export function nativeServer(
  engine: ServerEngine,
  handler: FetchHandler,
  start: (handler: FetchHandler) => NativeListener,
  /** What the server's stop loses whatever the kernel does: "shutdown() closes …". */
  stopLoss?: string,
): Promise<WorkerServer> {
  let requests = 0;
  let closing: Promise<void> | undefined;
  let listener: NativeListener;
  try {
    listener = start((request) => {
      requests++;
      return closing ? closeAfter(handler(request)) : handler(request);
    });
  } catch (error) {
    return Promise.reject(error);
  }
  const { hostname, port } = listener;
  const shutDown = async () => {
    await sleep(IDLE_GRACE_MS);
    await listener.stop();
  };
  return Promise.resolve({
    address: { hostname, port, family: hostname.includes(":") ? "IPv6" : "IPv4" },
    listenHandle: undefined,
    engine,
    engineReason: undefined,
    lossOnClose: lossOnClose(engine, stopLoss),
    get requests() {
      return requests;
    },
    accept: () => false,
    close: () => (closing ??= shutDown()),
  });
}

/**
 * What closing a native server may lose (`WorkerServer.lossOnClose`), as the clause after "…,
 * and " of the primary's warning: the connections queued on its listener where the kernel does
 * not migrate them (`migrates` false), and what `stopLoss` says the server's own stop loses at
 * any sysctl value ("shutdown() closes …"); with what avoids each. `undefined` if nothing.
 *
 * @example
 * ```ts ignore
 * lossOnClose("Bun.serve", undefined, true); // undefined: nothing is lost
 * ```
 */
export function lossOnClose(
  engine: ServerEngine,
  stopLoss: string | undefined,
  migrates: boolean = kernelMigratesQueuedConnections(),
): string | undefined {
  if (migrates && stopLoss === undefined) return undefined;
  const lendable = "(workers then serve with node:http on a listener they can hand over)";
  const sysctl = `"sysctl -w net.ipv4.tcp_migrate_req=1" on the host`;
  const queued = `it serves with ${engine}, whose listener cannot be handed to another worker, ` +
    `on a kernel that does not migrate queued connections (net.ipv4.tcp_migrate_req=0): ` +
    `connections queued on its listener as it closes may be reset`;
  if (stopLoss === undefined) {
    return `${queued}. To avoid it, run ${sysctl}, or create the cluster with strictReloads: ` +
      `true ${lendable}`;
  }
  const strict = `For reloads that lose none, create the cluster with strictReloads: true ` +
    lendable;
  if (migrates) return `it serves with ${engine}, whose ${stopLoss}. ${strict}`;
  // The sysctl still matters here: a scale-down closes a listener in every mode.
  return `${queued}; and ${engine}'s ${stopLoss}. ${strict}; ${sysctl} keeps a scale-down ` +
    `from resetting queued connections`;
}

/** The handler's response, marked so that the client does not reuse the connection. */
async function closeAfter(pending: Response | Promise<Response>): Promise<Response> {
  const response = await pending;
  // 101 (an upgrade) keeps its connection by definition.
  if (!(response instanceof Response) || response.status === 101) return response;
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    // Immutable headers (Response.redirect(), a fetch() response): copy them.
    const headers = new Headers(response.headers);
    headers.set("connection", "close");
    const { status, statusText } = response;
    return new Response(response.body, { status, statusText, headers });
  }
}

/**
 * Why a `serve()` on `source` cannot run on the runtime's own server `engine` (which binds its
 * own socket with reusePort and can neither adopt nor lend one), or `undefined` if it can.
 * `issue` is the upstream request for adopting a socket.
 */
export function whyNotNative(
  engine: ServerEngine,
  source: ServeSource,
  issue: string,
): string | undefined {
  switch (source.kind) {
    case "connections":
      return `${engine} cannot take connections handed over by the primary ` +
        `(policy "round-robin"); use policy "reuse-port" to serve with ${engine}`;
    case "handle":
      return `${engine} cannot serve a listen socket it did not bind (${issue})`;
    case "reuse-port":
      return source.lendable
        ? `strictReloads: a reload hands this listener to the replacement, and a ${engine} ` +
          `listener cannot be handed over (${issue})`
        : undefined;
  }
}

/** `server` (not the runtime's own), saying why. */
export function explained(server: WorkerServer, reason: string | undefined): WorkerServer {
  return Object.assign(server, { engineReason: reason });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
