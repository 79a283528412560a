// The fake adapter the broker's unit tests share: capabilities only, no socket is ever opened.
import type { Adapter, Capabilities } from "../src/types.ts";

/**
 * An adapter that can pass handles, share listen handles and use SO_REUSEPORT, with
 * `capabilities` overriding those.
 *
 * @example
 * ```ts ignore
 * const adapter = fakeAdapter({ reusePort: { reason: "not on this platform" } });
 * ```
 */
export function fakeAdapter(capabilities: Partial<Capabilities> = {}): Adapter {
  return {
    runtime: "fake",
    version: "1.0",
    capabilities: {
      handlePassing: true,
      sharedListenHandle: true,
      reusePort: true,
      serialization: ["json"],
      ...capabilities,
    },
  } as Adapter;
}
