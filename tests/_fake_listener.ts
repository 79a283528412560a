// The fake primary listener the round-robin unit tests share: no socket, it records what the
// handle releases (closes) and how often it was closed.
import type { Address, Listener } from "../src/types.ts";

/**
 * A listener on 127.0.0.1:8080 that records released connections. Extend it for what a test
 * needs beyond that (peer addresses, request heads).
 *
 * @example
 * ```ts ignore
 * const listener = new FakeListener();
 * rr.listener = listener;
 * assert.equal(listener.releaseCount(connection), 1);
 * ```
 */
export class FakeListener implements Listener {
  readonly address: Address = { hostname: "127.0.0.1", port: 8080, family: "IPv4" };
  readonly handle: object = { fake: "listen handle" };
  released: unknown[] = [];
  closes = 0;
  close(): Promise<void> {
    this.closes++;
    return Promise.resolve();
  }
  release(connection: unknown): void {
    this.released.push(connection);
  }
  /** How many times `connection` was released. */
  releaseCount(connection: unknown): number {
    return this.released.filter((c) => c === connection).length;
  }
}
