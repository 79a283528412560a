// Handle passing like child_process: `send(message, handle)` carries a net.Socket or net.Server
// where the runtime can; a listen socket on a runtime that moves it (Deno) is refused with a
// clear error instead of silently closing the sender's copy.

import net from "node:net";
import { runtime } from "../src/_runtime.ts";
import { ClusterError } from "../src/errors.ts";

/** Resolves if `handle` can be sent from this process; rejects with why not. */
export async function checkHandle(handle: unknown): Promise<void> {
  if (handle === undefined || handle === null) return;
  const adapter = await runtime().loadAdapter();
  if (!adapter.capabilities.handlePassing) {
    throw new ClusterError(
      "UNSUPPORTED",
      `Cannot send a handle on ${adapter.runtime} ${adapter.version}: its IPC cannot carry ` +
        "sockets; send the message without one",
    );
  }
  const shared = adapter.capabilities.sharedListenHandle;
  if (handle instanceof net.Server && shared !== true) {
    throw new ClusterError(
      "UNSUPPORTED",
      `Cannot send a net.Server on ${adapter.runtime} ${adapter.version}: ${shared.reason}, ` +
        "so this process would lose it; send connections (net.Socket) instead, or listen in " +
        "the workers",
    );
  }
}
