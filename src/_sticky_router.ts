// L7 sticky routing for a RoundRobinHandle: read each connection's first request head (bounded
// in size and time), take its sticky key, and say which worker it belongs to: the worker that
// claimed the key, else the one the key hashes to (rendezvous over the slots of the workers
// that can take it), so that a client whose worker is gone is re-hashed, never dropped.

import type { ClaimTable } from "./_claims.ts";
import { ClusterError } from "./errors.ts";
import { rendezvous } from "./scheduler_ip_hash.ts";
import type { Candidate, HeadReader, RequestHead } from "./scheduler_types.ts";
import { parseHead, type StickyKeySource, stickyKey } from "./_sticky_head.ts";
import type { Listener } from "./types.ts";

/** What a handle routes by: where the key is, the bounds of reading heads, the claims. */
export interface StickyRouting extends StickyKeySource {
  /** A head larger than this (bytes) is answered 431 and closed. */
  maxHeadSize: number;
  /** A head not complete after this (ms) is answered 408 and closed. */
  headTimeout: number;
  /** An unclaimed key waits this long (ms) for a claim before it is hashed. */
  claimWait: number;
  /** The cluster's claims; `undefined`: heads are read (trustProxy) but nothing is sticky. */
  claims: ClaimTable | undefined;
}

/** A connection whose head the primary read. */
export interface Prepared {
  /**
   * Every byte read, including what the runtime read since the head: called right before the
   * handoff (and again after a worker refused it), the worker reads them before the socket's own.
   */
  take(): Uint8Array;
  /** The first request's head; `undefined` if the bytes are not an HTTP/1 request. */
  head: RequestHead | undefined;
  /** Its sticky key, if it has one. */
  key: string | undefined;
}

/** How often a burst of refused heads is reported at most (ms). */
const REPORT_EVERY = 1000;

/**
 * Reads heads and places keys for one listen address.
 *
 * @example
 * ```ts ignore
 * const router = new StickyRouter(routing, () => listener, console.error);
 * const prepared = await router.prepare(connection); // undefined: refused or gone
 * const owner = prepared && router.owner(prepared, candidates);
 * ```
 */
export class StickyRouter {
  #routing: StickyRouting;
  #listener: () => Listener | undefined;
  #onError: (error: ClusterError) => void;
  #now: () => number;
  #reportedAt = -Infinity;
  #unreported = { "too-large": 0, timeout: 0 };
  /** Connections refused so far: head too large (431), too slow (408). */
  readonly refused = { "too-large": 0, timeout: 0 };

  constructor(
    routing: StickyRouting,
    listener: () => Listener | undefined,
    onError: (error: ClusterError) => void,
    now: () => number = () => performance.now(),
  ) {
    this.#routing = routing;
    this.#listener = listener;
    this.#onError = onError;
    this.#now = now;
  }

  /**
   * Reads the head of `connection` and, for a key nobody claimed yet, waits up to `claimWait`
   * for a claim. `undefined` when the connection was refused (431/408, counted and reported)
   * or the client left; the adapter closed it then.
   */
  async prepare(connection: unknown): Promise<Prepared | undefined> {
    const reader = this.#listener() as Partial<HeadReader> | undefined;
    if (typeof reader?.readHead !== "function") {
      return { take: () => new Uint8Array(0), head: undefined, key: undefined };
    }
    const r = this.#routing;
    const read = await reader.readHead(connection, { maxBytes: r.maxHeadSize, timeout: r.headTimeout });
    if (!read.ok) {
      if (read.reason !== "closed") this.#refuse(read.reason);
      return undefined;
    }
    const head = parseHead(read.bytes);
    const key = head && r.claims ? stickyKey(head, r) : undefined;
    if (key !== undefined && r.claims) await r.claims.waitFor(key, r.claimWait);
    let bytes = read.bytes;
    const take = (): Uint8Array => {
      const rest = read.rest();
      if (rest.length > 0) bytes = concat(bytes, rest);
      return bytes;
    };
    return { take, head, key };
  }

  /**
   * The candidate `prepared` belongs to: its key's claimant if that one is offered, else the
   * one its key hashes to; `undefined` when it has no key (the scheduler decides).
   */
  owner<C extends Candidate>(prepared: Prepared, candidates: readonly C[]): C | undefined {
    const key = prepared.key;
    if (key === undefined) return undefined;
    const claimant = this.#routing.claims?.owner(key);
    const claimed = claimant === undefined ? undefined : candidates.find((c) => c.id === claimant);
    return claimed ?? rendezvous(key, candidates);
  }

  #refuse(reason: "too-large" | "timeout"): void {
    this.refused[reason]++;
    this.#unreported[reason]++;
    const now = this.#now();
    if (now - this.#reportedAt < REPORT_EVERY) return;
    this.#reportedAt = now;
    const { "too-large": large, timeout } = this.#unreported;
    this.#unreported = { "too-large": 0, timeout: 0 };
    const parts = [
      large ? `${large} with a request head over ${this.#routing.maxHeadSize} bytes (431)` : "",
      timeout ? `${timeout} whose head was not complete in ${this.#routing.headTimeout} ms (408)` : "",
    ].filter(Boolean);
    this.#onError(
      new ClusterError(
        "HEAD_REJECTED",
        `Sticky routing closed ${parts.join(" and ")} since the last report: raise ` +
          `'sticky.maxHeadSize' / 'sticky.headTimeout' if these clients are legitimate`,
      ),
    );
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
