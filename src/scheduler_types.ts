/**
 * The scheduler contract of the primary-routed policy (`round-robin`): which worker gets the
 * next connection. Node has no such hook (a pluggable `distribute()` was declined in
 * nodejs/node#10880 and #11546); here every built-in scheduler and a user's function sit
 * behind this one interface. Types only: no runtime code, so that `options.ts` can name them.
 *
 * @module
 */

/** A worker that may get the connection, as a scheduler sees it. */
export interface Candidate {
  /** The worker's id (`Worker.id`). */
  readonly id: number;
  /** Its slot: a restarted or reloaded worker keeps the slot of the one it replaced. */
  readonly slot: number;
  /** Connections it holds open, as it last reported them. */
  readonly active: number;
  /** Connections the primary sent it that it has not acknowledged yet. */
  readonly inFlight: number;
  /**
   * Its oldest unacknowledged handoff waited longer than the stall threshold (a busy event
   * loop). Stalled candidates are only offered when every worker is stalled.
   */
  readonly stalled: boolean;
}

/** The head of an HTTP/1 request, for schedulers that route by it (L7 sticky routing). */
export interface RequestHead {
  /** e.g. `"GET"`. */
  readonly method: string;
  /** The request target as sent, e.g. `"/socket.io/?EIO=4&transport=polling&sid=abc"`. */
  readonly target: string;
  /** e.g. `"HTTP/1.1"`. */
  readonly version: string;
  /** Header fields, names lower-cased; repeated fields joined with `", "`. */
  readonly headers: Readonly<Record<string, string>>;
}

/** What a scheduler knows about the connection it places. */
export interface ScheduleInfo {
  /** The client's address (IPv4-mapped IPv6 addresses in their IPv4 form), if known. */
  readonly remoteAddress: string | undefined;
  /** The client's port, if known. */
  readonly remotePort: number | undefined;
  /** The listen key ("policy|host|port") the connection arrived on. */
  readonly key: string;
  /** The first request's head, when the primary read it (`sticky` routing); else undefined. */
  readonly request: RequestHead | undefined;
}

/**
 * A user's scheduler: returns one of `candidates` (never empty), or `undefined` to let the
 * default (`"least-connections"`) decide. A throw or a value that is not one of `candidates`
 * also falls back to the default, and the cluster emits one `error` (`SCHEDULER_FAILED`) per
 * burst of failures; the connection is never lost.
 */
export type SchedulerFunction = (
  candidates: readonly Candidate[],
  info: ScheduleInfo,
) => Candidate | undefined;

/** The built-in schedulers. */
export type SchedulerName = "least-connections" | "round-robin" | "power-of-two" | "ip-hash";

/** The built-in schedulers, the default first. */
export const SCHEDULERS: readonly SchedulerName[] = [
  "least-connections",
  "round-robin",
  "power-of-two",
  "ip-hash",
];

/** The `scheduler` option: a built-in's name or a function. */
export type SchedulerOption = SchedulerName | SchedulerFunction;

/** One scheduler instance (one per listen address). */
export interface Scheduler {
  /**
   * Whether this scheduler is also offered workers that are momentarily full (at
   * `maxInFlight`), listed after the others, and the connection waits for the one it picks:
   * a sticky scheduler (ip-hash) would rather wait a moment for its client's worker than feed
   * another. The others are only offered workers that can take a connection now, so that no
   * connection waits while a worker could take it (a burst is not slowed down).
   */
  readonly waits: boolean;
  /**
   * Whether it keeps clients on one worker (`"ip-hash"`): it is also offered workers that are
   * merely slow (their oldest handoff unanswered for less than 1 s), since moving a client
   * loses its sessions; the others are offered stalled workers only when all are.
   * @default false
   */
  readonly sticky?: boolean;
  /** Picks one of `candidates` (never empty); `undefined` means wait. */
  pick(candidates: readonly Candidate[], info: ScheduleInfo): Candidate | undefined;
}

/**
 * What a primary's `Listener` of the `round-robin` policy may also do for schedulers
 * such as `"ip-hash"`: tell a reported connection's client address.
 */
export interface PeerReader {
  /** The client's address (IPv4-mapped IPv6 in its IPv4 form) and port of `connection`. */
  remote(connection: unknown): { address: string | undefined; port: number | undefined };
}

/** How reading a request head in the primary ended (see {@linkcode HeadReader}). */
export type HeadRead =
  /**
   * Every byte read so far: the head, and whatever the client sent after it (pipelining).
   * `rest()` returns the bytes the runtime read since (where it cannot stop reading at once);
   * the primary calls it right before it hands the connection over.
   */
  | { ok: true; bytes: Uint8Array; rest(): Uint8Array }
  /**
   * No head: `"too-large"` (answered 431 and closed), `"timeout"` (answered 408 and closed),
   * `"closed"` (the client left).
   */
  | { ok: false; reason: "too-large" | "timeout" | "closed" };

/**
 * What a primary's `round-robin` listener may also do for L7 routing (`sticky`, `trustProxy`):
 * read a connection's request head, then stop reading, so that the connection can still be
 * handed to a worker together with the bytes read.
 */
export interface HeadReader {
  /** Reads until the end of the head (a blank line), at most `maxBytes`, for `timeout` ms. */
  readHead(connection: unknown, limits: { maxBytes: number; timeout: number }): Promise<HeadRead>;
}
