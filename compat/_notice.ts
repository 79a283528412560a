// The one message the compat layer sends on its own: a worker that calls disconnect() or
// destroy() tells the primary first, as Node's `exitedAfterDisconnect` act, so that the primary
// reports `exitedAfterDisconnect: true`. It travels as a user message and is filtered out.

const KEY = "@x/cluster/compat";

/** The notice a worker sends before it disconnects on its own. */
export const EXITED_AFTER_DISCONNECT: Readonly<Record<string, string>> = Object.freeze({
  [KEY]: "exitedAfterDisconnect",
});

/** Whether `message` is that notice. */
export function isCompatNotice(message: unknown): boolean {
  return typeof message === "object" && message !== null &&
    (message as Record<string, unknown>)[KEY] === "exitedAfterDisconnect";
}
