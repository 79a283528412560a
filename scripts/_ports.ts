// Ports for tests and benchmarks: a free port on 127.0.0.1, found by binding port 0.

import net from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it for a server bound to
 * port 0, which is closed again before the promise resolves. Another process may take it
 * meanwhile, so use it at once.
 *
 * @example Start a server on a port chosen up front
 * ```ts
 * import { freePort } from "./_ports.ts";
 *
 * const port = await freePort();
 * console.log(`http://127.0.0.1:${port}/`);
 * ```
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
