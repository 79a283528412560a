// Ports the handle check of child.send() in lib/internal/child_process.js (handleConversion):
// which handles `worker.send(message, handle)` can carry on this runtime. Node refuses only
// unknown handle types; a runtime that cannot share a listen socket (Deno moves it to the
// receiver, closing the sender's copy) refuses a net.Server here, with its adapter's reason,
// instead of silently taking the server away from the sender.

import net from "node:net";
import { ClusterError } from "../mod.ts";
import { runtimeFactsNow } from "../internal.ts";

/** Why `handle` cannot be sent from this process, or `undefined` if it can. */
export function handleError(handle: unknown): Error | undefined {
  if (!(handle instanceof net.Server)) return undefined;
  const known = runtimeFactsNow();
  const shared = known.capabilities.sharedListenHandle;
  if (shared === true) return undefined;
  return new ClusterError(
    "UNSUPPORTED",
    `Cannot send a net.Server on ${known.runtime} ${known.version}: ${shared.reason}, so ` +
      "this process would lose it; send connections (net.Socket) instead, or listen in the workers",
  );
}
