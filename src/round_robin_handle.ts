// Round-robin scheduling in the primary: Node's RoundRobinHandle
// (lib/internal/cluster/round_robin_handle.js), changed where Node's design costs throughput:
// - Node hands a worker one connection and waits for its ack before it gets another; here each
//   worker may have `maxInFlight` handoffs outstanding, and each connection goes to the worker
//   with the fewest outstanding handoffs (ties rotate, so an idle cluster alternates). A
//   worker whose oldest handoff has waited longer than `stallAfter` ms (its event loop is
//   busy) gets none while another worker can take them.
// - a connection refused by a worker, or whose worker died before taking it, is handed to
//   another worker (never back to one that refused it; up to `MAX_ATTEMPTS` workers), not lost.
// - connections waiting for a worker are bounded by the primary's descriptors (the listener's
//   `capacity`), not by the listen backlog: Node's queue is unbounded, and a bound of
//   `backlog` closed 27–45 % of a burst of 1,000 connections (issue #13). Beyond it the oldest
//   waiting connection is closed, as the runtime itself would at EMFILE.

import type { Listener } from "./types.ts";

/** A worker that can take connections. */
export interface HandoffTarget {
  readonly id: number;
  /** Sends the connection; resolves true if the worker took it, false if it refused. */
  handoff(key: string, connection: unknown): Promise<boolean>;
}

interface Member {
  target: HandoffTarget;
  inFlight: number;
  /** When each unacknowledged handoff was sent, oldest first (workers ack in order). */
  sentAt: number[];
}

const MAX_ATTEMPTS = 3;

/** Options of {@linkcode RoundRobinHandle}. */
export interface RoundRobinOptions {
  /** Handoffs a worker may have unacknowledged. */
  maxInFlight: number;
  /**
   * Connections kept waiting while no worker can take one, where the listener does not tell
   * its `capacity` (which wins when it does).
   */
  maxQueue: number;
  /** A worker whose oldest handoff waits longer than this (ms) is passed over. @default 20 */
  stallAfter?: number;
  /** Monotonic clock (ms), replaceable in tests. @default performance.now */
  now?: () => number;
}

/** Distributes connections a primary-owned listener accepts. */
export class RoundRobinHandle {
  readonly key: string;
  #options: RoundRobinOptions;
  #listener: Listener | undefined;
  #members: Member[] = [];
  #cursor = 0;
  #queue: unknown[] = [];
  /** Per waiting connection: the workers that refused it or died holding it. */
  #refused = new Map<unknown, Set<number>>();
  #closed = false;
  #now: () => number;

  constructor(key: string, options: RoundRobinOptions) {
    this.key = key;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Sets the listener whose connections this handle distributes (and releases). */
  set listener(listener: Listener) {
    this.#listener = listener;
  }

  /** The listener, once bound. */
  get listener(): Listener | undefined {
    return this.#listener;
  }

  /** Number of member workers. */
  get size(): number {
    return this.#members.length;
  }

  /** Connections accepted but not yet taken by a worker. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Whether `id` is a member. */
  has(id: number): boolean {
    return this.#members.some((m) => m.target.id === id);
  }

  /** Adds a worker and gives it queued connections. */
  add(target: HandoffTarget): void {
    if (this.has(target.id)) return;
    this.#members.push({ target, inFlight: 0, sentAt: [] });
    this.#drain();
  }

  /** Removes a worker. Its unacknowledged handoffs come back through their rejection. */
  remove(id: number): void {
    this.#members = this.#members.filter((m) => m.target.id !== id);
  }

  /** Takes one accepted connection. */
  distribute(connection: unknown): void {
    if (this.#closed) return this.#listener?.release(connection);
    this.#queue.push(connection);
    this.#drain();
  }

  /** Closes the listener and every connection still waiting. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const connection of this.#queue.splice(0)) this.#listener?.release(connection);
    this.#refused.clear();
    await this.#listener?.close();
  }

  #drain(): void {
    while (this.#queue.length > 0) {
      const connection = this.#queue[0];
      const refused = this.#refused.get(connection);
      if (refused && this.#members.every((m) => refused.has(m.target.id))) {
        this.#drop(this.#queue.shift()); // every worker refused it
        continue;
      }
      const member = this.#pick(refused);
      if (!member) break;
      this.#handoff(member, this.#queue.shift());
    }
    const limit = this.#listener?.capacity ?? this.#options.maxQueue;
    while (this.#queue.length > limit) {
      this.#drop(this.#queue.shift());
    }
  }

  #pick(exclude: Set<number> | undefined): Member | undefined {
    const members = this.#members;
    const now = this.#now();
    const stallAfter = this.#options.stallAfter ?? 20;
    let best: Member | undefined;
    let bestStalled = true;
    let responsive = false;
    for (let i = 0; i < members.length; i++) {
      const member = members[(this.#cursor + i) % members.length];
      if (exclude?.has(member.target.id)) continue;
      const stalled = member.sentAt.length > 0 && now - member.sentAt[0] > stallAfter;
      responsive ||= !stalled;
      if (member.inFlight >= this.#options.maxInFlight) continue;
      // A responsive worker beats a stalled one; then the fewest outstanding handoffs win.
      if (
        !best || (bestStalled && !stalled) ||
        (stalled === bestStalled && member.inFlight < best.inFlight)
      ) {
        best = member;
        bestStalled = stalled;
      }
    }
    // A responsive worker that is merely full acks soon: wait for it rather than feed a
    // stalled one. Only when every worker is stalled do they share the load regardless.
    if (best && bestStalled && responsive) return undefined;
    if (best) this.#cursor = (members.indexOf(best) + 1) % members.length;
    return best;
  }

  #handoff(member: Member, connection: unknown): void {
    member.inFlight++;
    member.sentAt.push(this.#now());
    member.target.handoff(this.key, connection).then(
      (accepted) => this.#settle(member, connection, accepted),
      () => this.#settle(member, connection, false),
    );
  }

  #settle(member: Member, connection: unknown, accepted: boolean): void {
    member.inFlight--;
    member.sentAt.shift();
    if (accepted || this.#closed) {
      this.#refused.delete(connection);
      this.#listener?.release(connection);
    } else {
      const refused = this.#refused.get(connection) ?? new Set<number>();
      refused.add(member.target.id);
      if (refused.size >= MAX_ATTEMPTS) {
        this.#drop(connection);
      } else {
        this.#refused.set(connection, refused);
        this.#queue.unshift(connection);
      }
    }
    this.#drain();
  }

  #drop(connection: unknown): void {
    this.#refused.delete(connection);
    this.#listener?.release(connection);
  }
}
