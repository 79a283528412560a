// Ports the `act: "exitedAfterDisconnect"` request of lib/internal/cluster/child.js and its ack
// in primary.js, and the id Node passes in NODE_UNIQUE_ID: what compat itself sends between
// its primary and its workers, on top of the core's protocol (plus FLUSH, which Node does not
// need: below). They travel as user messages of the core (Node's are internal "NODE_CLUSTER"
// ones) and are filtered out on either side before user code sees messages.

const KEY = "@x/cluster/compat";

/** Environment variable that tells a worker its node:cluster id (Node: `NODE_UNIQUE_ID`). */
export const ENV_COMPAT_ID = "XCLUSTER_COMPAT_ID";

/**
 * Worker → primary: this worker disconnects or destroys itself, so its exit counts as asked
 * for (`exitedAfterDisconnect: true`). The worker goes on only once the primary acknowledged
 * it, as Node's does: the exit could otherwise be reported before the message was read.
 */
export const LEAVING: Readonly<Record<string, string>> = Object.freeze({ [KEY]: "leaving" });

/** Primary → worker: {@linkcode LEAVING} was recorded. */
export const LEAVING_ACK: Readonly<Record<string, string>> = Object.freeze({
  [KEY]: "leaving-ack",
});

/**
 * Worker → primary, ignored there: sent by the worker's own `process.disconnect()` with a
 * callback, which runs once everything sent before it was written (see
 * _process_disconnect.ts).
 */
export const FLUSH: Readonly<Record<string, string>> = Object.freeze({ [KEY]: "flush" });

/** Which compat message `message` is, if it is one. */
export function compatMessage(
  message: unknown,
): "leaving" | "leaving-ack" | "flush" | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const value = (message as Record<string, unknown>)[KEY];
  return value === "leaving" || value === "leaving-ack" || value === "flush" ? value : undefined;
}
