/**
 * The one domain error of @x/cluster: a condition a caller may want to handle, named by `code`.
 *
 * Bad arguments throw the built-in `TypeError` / `RangeError` instead.
 *
 * @module
 */

/** The codes a {@linkcode ClusterError} can carry. */
export type ClusterErrorCode =
  /** A worker exited or failed before it came online. */
  | "WORKER_START_FAILED"
  /** A worker exited with a non-zero code or a signal without being asked to. */
  | "WORKER_EXITED"
  /** A slot's workers failed too often in a row; the slot is no longer restarted. */
  | "CRASH_LOOP"
  /** A reload stopped because a replacement did not become ready; the old worker serves on. */
  | "RELOAD_FAILED"
  /** The worker's IPC channel is closed: the message was not sent. */
  | "CHANNEL_CLOSED"
  /** An internal message was malformed, unknown, or carried a wrong token. */
  | "BAD_MESSAGE"
  /** The runtime or platform cannot do what was asked (see the adapter's capabilities). */
  | "UNSUPPORTED"
  /** The cluster was shut down while the operation was pending. */
  | "SHUT_DOWN"
  /**
   * A warning: stopping a worker that serves with a listener it cannot lend may lose
   * connections: those queued on it, on a kernel that does not migrate them, and on Deno those
   * Deno.serve accepted and has not read. The message says what avoids it.
   */
  | "RELOAD_MAY_RESET"
  /**
   * A user's `scheduler` function threw or returned something that is not a candidate; the
   * connection went to the default scheduler's choice (reported once per burst).
   */
  | "SCHEDULER_FAILED"
  /**
   * Sticky routing closed connections whose request head was too large (answered 431) or
   * too slow (answered 408); reported once per burst, with the counts.
   */
  | "HEAD_REJECTED"
  /**
   * The primary left out metrics a worker sent that would break or spoof `/metrics` (a reserved
   * `x_cluster_` name, a malformed name or label, over the limits); reported once per worker.
   */
  | "METRICS_REFUSED"
  /** A system error code (e.g. `EADDRINUSE`, `EACCES`) from binding a listen address. */
  | `E${string}`;

/** Options of {@linkcode ClusterError}. */
export interface ClusterErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * An error with a stable `code` that callers can branch on.
 *
 * @example Branch on the code
 * ```ts
 * import { ClusterError } from "@x/cluster";
 * try {
 *   throw new ClusterError("SHUT_DOWN", "Cannot fork: the cluster is shutting down");
 * } catch (error) {
 *   if (error instanceof ClusterError && error.code === "SHUT_DOWN") console.log("too late");
 * }
 * ```
 */
export class ClusterError extends Error {
  /** What kind of condition this is. */
  readonly code: ClusterErrorCode;

  /** Creates an error with a `code` and a message that says what happened and what to do. */
  constructor(code: ClusterErrorCode, message: string, options: ClusterErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "ClusterError";
    this.code = code;
  }
}
