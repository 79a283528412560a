// The primary's small HTTP server (the metrics and health listener, `metrics` option): node:http
// with the fetch bridge on every runtime. It serves a scrape every few seconds, so the runtime's
// fastest server would buy nothing, and node:http closes the same way on all three. The fetch
// bridge and node:http are imported when the listener starts: the bridge loads Node's undici
// (20–28 ms on Node 24), Bun loads node:http in 10 ms, and a primary without `metrics` needs
// neither (issue #10, startup).

import type net from "node:net";
import type { FetchHandler, HttpEndpoint, ListenOptions } from "../src/types.ts";
import { addressOf } from "./_address.ts";

/**
 * Binds `options` and answers every request with `handler`. Rejects with the system error
 * (`EADDRINUSE`, `EACCES`) if it cannot bind.
 *
 * @example
 * ```ts ignore
 * const endpoint = await serveHttp({ hostname: "127.0.0.1", port: 9100, backlog: undefined },
 *   () => new Response("ok"));
 * await endpoint.close();
 * ```
 */
export async function serveHttp(
  options: ListenOptions,
  handler: FetchHandler,
): Promise<HttpEndpoint> {
  const [{ default: http }, { fetchListener }] = await Promise.all([
    import("node:http"),
    import("./_fetch_bridge.ts"),
  ]);
  const server = http.createServer(fetchListener(handler));
  // Scrapes are short: an idle keep-alive connection must not hold a closing primary open.
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.hostname, port: options.port, backlog: options.backlog }, () => {
      server.off("error", reject);
      resolve({
        address: addressOf(server as net.Server),
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
