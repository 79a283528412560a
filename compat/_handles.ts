// Ports the handle check of child.send() in lib/internal/child_process.js (handleConversion):
// which handles `worker.send(message, handle)` can carry on this runtime. Node refuses only
// unknown handle types; a runtime that cannot share a listen socket (Deno moves it to the
// receiver, closing the sender's copy) refuses a net.Server here, with its adapter's reason,
// instead of silently taking the server away from the sender.

import net from "node:net";
import { ClusterError } from "../mod.ts";
import { type RuntimeFacts, runtimeFacts } from "../internal.ts";

// Loaded with this module (the core loads the same adapter at the first fork anyway), so that
// the answer is synchronous by the time a program has a listening server to send.
let known: RuntimeFacts | undefined;
const loading: Promise<RuntimeFacts> = runtimeFacts().then((facts) => (known = facts));
loading.catch(() => {});

/**
 * Why `handle` cannot be sent from this process, or `undefined` if it can. A promise of that
 * answer only while the adapter is still loading (the first moments of the process).
 */
export function handleError(handle: unknown): Error | undefined | Promise<Error | undefined> {
  if (!(handle instanceof net.Server)) return undefined;
  if (!known) return loading.then(() => handleError(handle));
  const shared = known.capabilities.sharedListenHandle;
  if (shared === true) return undefined;
  return new ClusterError(
    "UNSUPPORTED",
    `Cannot send a net.Server on ${known.runtime} ${known.version}: ${shared.reason}, so ` +
      "this process would lose it; send connections (net.Socket) instead, or listen in the workers",
  );
}
