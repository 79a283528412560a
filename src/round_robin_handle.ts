// Round-robin scheduling in the primary: Node's RoundRobinHandle
// (lib/internal/cluster/round_robin_handle.js), changed where Node's design costs throughput:
// - Node hands a worker one connection and waits for its ack before it gets another; here a
//   worker gets one more, up to `maxInFlight` outstanding, once connections have waited
//   `spillAfter` ms for a worker with none (a backlog: at start, while the JIT is cold, or
//   at a load one answer at a time cannot carry; src/_spill_gate.ts), and a pluggable scheduler
//   (src/scheduler_*.ts; default least-connections: open connections plus outstanding
//   handoffs, ties rotate so an idle cluster alternates) picks among the workers that can take
//   one. A worker whose oldest handoff has waited longer than `stallAfter` ms (its event loop
//   is busy) is offered to no scheduler while another worker can take connections.
// - a connection refused by a worker, or whose worker died before taking it, is handed to
//   another worker (never back to one that refused it; up to `MAX_ATTEMPTS` workers), not lost.
// - connections waiting for a worker are bounded by the primary's descriptors (the listener's
//   `capacity`), not by the listen backlog: Node's queue is unbounded, and a bound of
//   `backlog` closed 27–45 % of a burst of 1,000 connections (issue #13). Beyond it the oldest
//   waiting connection is closed, as the runtime itself would at EMFILE.

import type { ClusterError } from "./errors.ts";
import { createScheduler } from "./scheduler_create.ts";
import { leastConnections } from "./scheduler_least_connections.ts";
import type {
  Candidate,
  PeerReader,
  ScheduleInfo,
  Scheduler,
  SchedulerOption,
} from "./scheduler_types.ts";
import type { Listener } from "./types.ts";
import { SPILL_AFTER_MS, SpillGate } from "./_spill_gate.ts";
import { type Prepared, StickyRouter, type StickyRouting } from "./_sticky_router.ts";

/** A worker that can take connections. */
export interface HandoffTarget {
  readonly id: number;
  /** Its slot (schedulers hash by slot). @default 0 */
  readonly slot?: number;
  /** False once its channel closed: it gets no connection. @default true */
  readonly connected?: boolean;
  /** Connections of `key` it reported open. @default 0 */
  activeConnections?(key: string): number;
  /**
   * Sends the connection, with the bytes the primary read of it (sticky routing); resolves
   * true if the worker took it, false if it refused.
   */
  handoff(key: string, connection: unknown, head?: Uint8Array): Promise<boolean>;
  /**
   * `handoff` with a callback, used instead when present: `done` is called once, with whether
   * the worker took it (false if it refused, was lost or closed). No promise per connection.
   * `tried`: the workers that refused it so far (one that takes it after its runtime's receipt
   * and then refuses hands it back with them, see {@linkcode RoundRobinHandle.returned}).
   */
  pass?(
    key: string,
    connection: unknown,
    head: Uint8Array | undefined,
    done: (accepted: boolean) => void,
    tried?: ReadonlySet<number>,
  ): void;
}

interface Member {
  target: HandoffTarget;
  inFlight: number;
  /** When each unacknowledged handoff was sent, oldest first (workers ack in order). */
  sentAt: number[];
  /**
   * Connections whose sticky choice is this member while it is full, oldest first: kept off
   * the main queue so that any number of them lets other workers' connections pass.
   */
  waiting: unknown[];
}

const MAX_ATTEMPTS = 3;
/** A connection that waits for its (full) sticky worker. */
const WAIT: unique symbol = Symbol("wait");

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
  /**
   * A worker with a handoff outstanding gets another (up to `maxInFlight`) only once
   * connections have waited this long (ms) for a worker with none; 0: at once. @default 2
   */
  spillAfter?: number;
  /** Monotonic clock (ms), replaceable in tests. @default performance.now */
  now?: () => number;
  /** Which worker gets each connection. @default "least-connections" */
  scheduler?: SchedulerOption;
  /** `"ip-hash"` hashes the first forwarded address of a request head. @default false */
  trustProxy?: boolean;
  /** Uniform in [0, 1), for `"power-of-two"`. @default Math.random */
  random?: () => number;
  /** Receives a user scheduler's failures and refused heads (one per burst). @default ignored */
  onError?: (error: ClusterError) => void;
  /** L7: read each connection's first request head and route by its sticky key. */
  sticky?: StickyRouting;
}

/** One candidate per member, rebuilt per pick (schedulers must not keep them). */
interface MemberCandidate extends Candidate {
  readonly member: Member;
  readonly full: boolean;
  /** How long its oldest unacknowledged handoff has waited (ms); 0 if none. */
  readonly waited: number;
}

/** A sticky key's or ip-hash's worker is passed over once its oldest handoff waited this long (ms). */
const STICKY_STALL_MS = 1000;

const fallback = leastConnections();

/** Distributes connections a primary-owned listener accepts. */
export class RoundRobinHandle {
  readonly key: string;
  #options: RoundRobinOptions;
  #listener: Listener | undefined;
  #members: Member[] = [];
  #cursor = 0;
  #queue: unknown[] = [];
  /** How many handoffs each member may have in the current `#drain`. */
  #gate: SpillGate;
  /** Connections in the members' `waiting` lists. */
  #waiting = 0;
  /** The member the last `WAIT` of `#pick` waits for. */
  #waitFor: Member | undefined;
  /** Per waiting connection: the workers that refused it or died holding it. */
  #refused = new Map<unknown, Set<number>>();
  #dropped = 0;
  #closed = false;
  #now: () => number;
  #scheduler: Scheduler;
  #router: StickyRouter | undefined;
  /** The default (least-connections, no sticky): picked by `#pickLeastLoaded`. */
  #plain: boolean;
  /** Connections whose head is being read (sticky routing): close() ends them too. */
  #reading = new Set<unknown>();
  /** Waiting connections whose head the primary read (sticky routing). */
  #prepared = new Map<unknown, Prepared>();

  constructor(key: string, options: RoundRobinOptions) {
    this.key = key;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    const spillAfter = options.spillAfter ?? SPILL_AFTER_MS;
    this.#gate = new SpillGate(options.maxInFlight, spillAfter, this.#now, () => this.#drain());
    this.#scheduler = createScheduler(options.scheduler ?? "least-connections", {
      onError: options.onError ?? (() => {}),
      trustProxy: options.trustProxy,
      now: this.#now,
      random: options.random,
    });
    this.#plain = (options.scheduler ?? "least-connections") === "least-connections" &&
      !options.sticky;
    if (options.sticky) {
      this.#router = new StickyRouter(
        options.sticky,
        () => this.#listener,
        options.onError ?? (() => {}),
        this.#now,
      );
    }
  }

  /** Connections refused for their request head (sticky routing): too large, too slow. */
  get refusedHeads(): { "too-large": number; timeout: number } {
    return { ...(this.#router?.refused ?? { "too-large": 0, timeout: 0 }) };
  }

  /**
   * Each member's load as the schedulers see it: open connections it reported and handoffs it
   * has not acknowledged.
   */
  get load(): Array<{ id: number; active: number; inFlight: number }> {
    return this.#members.map((m) => ({
      id: m.target.id,
      active: m.target.activeConnections?.(this.key) ?? 0,
      inFlight: m.inFlight,
    }));
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
    return this.#queue.length + this.#waiting;
  }

  /** Connections closed without a worker taking them (all refused, or over capacity). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether `id` is a member. */
  has(id: number): boolean {
    return this.#members.some((m) => m.target.id === id);
  }

  /** Adds a worker and gives it queued connections. */
  add(target: HandoffTarget): void {
    if (this.has(target.id)) return;
    this.#members.push({ target, inFlight: 0, sentAt: [], waiting: [] });
    this.#drain();
  }

  /** Removes a worker. Its unacknowledged handoffs come back through their rejection. */
  remove(id: number): void {
    const member = this.#members.find((m) => m.target.id === id);
    if (!member) return;
    this.#members = this.#members.filter((m) => m !== member);
    if (member.waiting.length === 0) return;
    // Connections waiting for it are routed again (re-hashed over the others).
    this.#waiting -= member.waiting.length;
    this.#queue = member.waiting.splice(0).concat(this.#queue);
    this.#drain();
  }

  /**
   * Takes back a connection that a worker refused after its runtime had acknowledged it (the
   * handoff counted as taken): routed again to a worker not in `refusedBy`, as a refusal is.
   */
  returned(connection: unknown, refusedBy: Iterable<number>): void {
    if (this.#closed) return this.#listener?.release(connection);
    const refused = new Set(refusedBy);
    if (refused.size >= MAX_ATTEMPTS) return this.#drop(connection);
    this.#refused.set(connection, refused);
    this.#queue.unshift(connection);
    this.#drain();
  }

  /** Takes one accepted connection. */
  distribute(connection: unknown): void {
    if (this.#closed) return this.#listener?.release(connection);
    if (this.#router) return this.#prepare(this.#router, connection);
    this.#queue.push(connection);
    this.#drain();
  }

  /** Reads the head first (sticky routing); a refused connection was closed by the adapter. */
  #prepare(router: StickyRouter, connection: unknown): void {
    // Connections whose head is still coming count against the same bound as waiting ones: a
    // flood of clients that never finish their head (slowloris) cannot exhaust descriptors.
    const limit = this.#listener?.capacity ?? this.#options.maxQueue;
    if (this.#reading.size + this.queued >= limit) return this.#drop(connection);
    this.#reading.add(connection);
    router.prepare(connection).finally(() => this.#reading.delete(connection)).then((prepared) => {
      if (!prepared) return;
      if (this.#closed) return this.#listener?.release(connection);
      this.#prepared.set(connection, prepared);
      this.#queue.push(connection);
      this.#drain();
    }, () => this.#listener?.release(connection));
  }

  /** Closes the listener and every connection still waiting. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#gate.close();
    for (const connection of this.#queue.splice(0)) this.#listener?.release(connection);
    for (const member of this.#members) {
      for (const connection of member.waiting.splice(0)) this.#listener?.release(connection);
    }
    this.#waiting = 0;
    // A client still sending its head would otherwise keep the primary up to headTimeout and
    // then get a 408 instead of a closed connection.
    for (const connection of this.#reading) this.#listener?.release(connection);
    this.#reading.clear();
    this.#refused.clear();
    this.#prepared.clear();
    await this.#listener?.close();
  }

  #drain(): void {
    this.#gate.begin();
    if (this.#waiting > 0) this.#requeue();
    // A connection waiting for its (full) sticky worker moves to that worker's own list: one
    // busy worker must not hold up every other worker's clients, however many wait for it.
    while (this.#queue.length > 0) {
      const connection = this.#queue[0];
      const refused = this.#refused.get(connection);
      if (refused && this.#members.every((m) => refused.has(m.target.id))) {
        this.#drop(this.#queue.shift()); // every worker refused it
        continue;
      }
      const member = this.#pick(refused, connection);
      if (member === WAIT) {
        this.#waitFor!.waiting.push(this.#queue.shift());
        this.#waiting++;
        continue;
      }
      if (!member) break;
      this.#handoff(member, this.#queue.shift());
    }
    this.#gate.end(this.queued);
    const limit = this.#listener?.capacity ?? this.#options.maxQueue;
    while (this.queued > limit) {
      if (this.#queue.length > 0) {
        this.#drop(this.#queue.shift());
        continue;
      }
      // Over the bound with only waiting ones: the longest list loses its oldest.
      const longest = this.#members.reduce((a, b) => (b.waiting.length > a.waiting.length ? b : a));
      this.#waiting--;
      this.#drop(longest.waiting.shift());
    }
  }

  /** How many more handoffs `member` may take now (src/_spill_gate.ts). */
  #room(member: Member, now: number): number {
    return this.#gate.room(member.inFlight, member.sentAt[0], now);
  }

  /**
   * Puts connections waiting for a member back in front of the queue: as many as it has free
   * slots, or all of them once it stalled beyond STICKY_STALL_MS or lost its channel (they are
   * routed again, to another worker).
   */
  #requeue(): void {
    const now = this.#now();
    let back: unknown[] | undefined;
    for (const member of this.#members) {
      if (member.waiting.length === 0) continue;
      const gone = member.target.connected === false ||
        (member.sentAt.length > 0 && now - member.sentAt[0] > STICKY_STALL_MS);
      const free = gone ? member.waiting.length : this.#room(member, now);
      if (free <= 0) continue;
      const taken = member.waiting.splice(0, free);
      this.#waiting -= taken.length;
      back = back ? back.concat(taken) : taken;
    }
    if (back) this.#queue = back.concat(this.#queue);
  }

  #pick(
    exclude: Set<number> | undefined,
    connection: unknown,
  ): Member | typeof WAIT | undefined {
    if (this.#plain) return this.#pickLeastLoaded(exclude);
    const members = this.#members;
    const now = this.#now();
    const stallAfter = this.#options.stallAfter ?? 20;
    const responsive: MemberCandidate[] = [], stalled: MemberCandidate[] = [];
    // In rotation order from the cursor, so that ties (and strict rotation) move on.
    for (let i = 0; i < members.length; i++) {
      const member = members[(this.#cursor + i) % members.length];
      const target = member.target;
      if (exclude?.has(target.id) || target.connected === false) continue;
      const waited = member.sentAt.length > 0 ? now - member.sentAt[0] : 0;
      const isStalled = waited > stallAfter;
      (isStalled ? stalled : responsive).push({
        waited,
        member,
        id: target.id,
        slot: target.slot ?? 0,
        active: target.activeConnections?.(this.key) ?? 0,
        inFlight: member.inFlight,
        stalled: isStalled,
        full: this.#room(member, now) <= 0,
      });
    }
    const scheduler = this.#scheduler;
    // Sticky routing holds on to a worker that is merely slow, since its clients' sessions
    // live there (another would answer "unknown session"): a sticky key's worker (claimed,
    // else hashed) and an ip-hash pick are passed over only once stalled beyond
    // STICKY_STALL_MS; full, they are waited for.
    const patient = this.#router || scheduler.sticky
      ? responsive.concat(stalled).filter((c) => c.waited <= STICKY_STALL_MS)
      : [];
    const prepared = this.#prepared.get(connection);
    const owner = prepared && patient.length > 0
      ? this.#router?.owner(prepared, patient)
      : undefined;
    if (owner) return this.#choose(owner, true);
    // Otherwise stalled workers get connections only when every worker is stalled. A
    // responsive worker that is merely full acks soon: the connection waits for it rather
    // than feed a stalled one.
    const strict = responsive.length > 0 ? responsive : stalled;
    const pool = scheduler.sticky && patient.length > 0 ? patient : strict;
    const ready = pool.filter((c) => !c.full);
    // Full ones last: on a tie of load, the worker that can take it now wins.
    const offered = scheduler.waits ? ready.concat(pool.filter((c) => c.full)) : ready;
    if (offered.length === 0) return undefined;
    const info = this.#info(connection);
    let chosen = scheduler.pick(offered, info) as MemberCandidate | undefined;
    // A built-in never answers outside `offered`; the guarded user function neither.
    if (!chosen || !offered.includes(chosen)) {
      chosen = fallback.pick(offered, info) as MemberCandidate;
    }
    return this.#choose(chosen, scheduler.sticky === true);
  }

  /**
   * The default scheduler's choice, as `#pick` would make it with least-connections and no
   * sticky routing (the responsive members if any, else the stalled ones; full ones are not
   * offered; the least loaded first in rotation order), without building candidates: this is
   * the path every connection of a default cluster takes (issue #10).
   */
  #pickLeastLoaded(exclude: Set<number> | undefined): Member | undefined {
    const members = this.#members, n = members.length;
    const now = this.#now(), stallAfter = this.#options.stallAfter ?? 20;
    let anyResponsive = false;
    let best = -1, bestLoad = Infinity, bestStalled = -1, bestStalledLoad = Infinity;
    for (let i = 0; i < n; i++) {
      const index = (this.#cursor + i) % n;
      const member = members[index], target = member.target;
      if (exclude?.has(target.id) || target.connected === false) continue;
      const stalled = member.sentAt.length > 0 && now - member.sentAt[0] > stallAfter;
      if (!stalled) anyResponsive = true;
      if (member.inFlight > 0 && this.#room(member, now) <= 0) continue;
      const load = (target.activeConnections?.(this.key) ?? 0) + member.inFlight;
      if (!stalled && load < bestLoad) {
        best = index;
        bestLoad = load;
      } else if (stalled && load < bestStalledLoad) {
        bestStalled = index;
        bestStalledLoad = load;
      }
    }
    const chosen = anyResponsive ? best : bestStalled;
    if (chosen === -1) return undefined;
    this.#cursor = (chosen + 1) % n;
    return members[chosen];
  }

  /** `WAIT`: a sticky choice whose worker is full (others may pass); `undefined`: none can. */
  #choose(chosen: MemberCandidate, sticky: boolean): Member | typeof WAIT | undefined {
    if (chosen.full) {
      if (!sticky) return undefined;
      this.#waitFor = chosen.member; // wait for that worker: it acks soon
      return WAIT;
    }
    this.#cursor = (this.#members.indexOf(chosen.member) + 1) % this.#members.length;
    return chosen.member;
  }

  /** What the scheduler knows of `connection`; the address is read only if asked for. */
  #info(connection: unknown): ScheduleInfo {
    const listener = this.#listener, key = this.key;
    let remote: { address: string | undefined; port: number | undefined } | undefined;
    const peer =
      () => (remote ??= (listener as Partial<PeerReader> | undefined)?.remote?.(connection) ?? {
        address: undefined,
        port: undefined,
      });
    return {
      get remoteAddress() {
        return peer().address;
      },
      get remotePort() {
        return peer().port;
      },
      key,
      request: this.#prepared.get(connection)?.head,
    };
  }

  #handoff(member: Member, connection: unknown): void {
    member.inFlight++;
    member.sentAt.push(this.#now());
    const head = this.#router ? this.#prepared.get(connection)?.take() : undefined;
    const target = member.target;
    if (target.pass) {
      const tried = this.#refused.size > 0 ? this.#refused.get(connection) : undefined;
      return target.pass(
        this.key,
        connection,
        head,
        (accepted) => this.#settle(member, connection, accepted),
        tried,
      );
    }
    target.handoff(this.key, connection, head).then(
      (accepted) => this.#settle(member, connection, accepted),
      () => this.#settle(member, connection, false),
    );
  }

  #settle(member: Member, connection: unknown, accepted: boolean): void {
    member.inFlight--;
    member.sentAt.shift();
    if (accepted || this.#closed) {
      // Both maps are empty but for refused and sticky connections: skip their hashing.
      if (this.#refused.size > 0) this.#refused.delete(connection);
      if (this.#prepared.size > 0) this.#prepared.delete(connection);
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
    this.#dropped++;
    this.#refused.delete(connection);
    this.#prepared.delete(connection);
    this.#listener?.release(connection);
  }
}
