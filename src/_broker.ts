// The primary's `queryServer` broker (Node's primary.js `queryServer` and its `handles` map):
// each listen address a worker asks for maps to one round-robin, shared or reuse-port handle,
// keyed by policy, host and port, created on the first query and closed with the last member.
// Deviation: the policy of a query that names none depends on the API that asked (`serve()`
// gets the runtime's fastest server), where Node has one `schedulingPolicy`.

import type { QueryMessage, QueryResult } from "./protocol.ts";
import { ReusePortHandle } from "./reuse_port_handle.ts";
import { RoundRobinHandle } from "./round_robin_handle.ts";
import { SharedHandle, type ShareTarget } from "./shared_handle.ts";
import type { Adapter, Address, Policy } from "./types.ts";
import type { ClusterError } from "./errors.ts";
import type { SchedulerOption } from "./scheduler_types.ts";
import { ClaimTable } from "./_claims.ts";
import { DEFAULTS, type StickyLimits, type StickyOptions } from "./options.ts";
import type { StickyRouting } from "./_sticky_router.ts";

type Handle = RoundRobinHandle | SharedHandle | ReusePortHandle;

/** What the broker needs of a worker: take connections, lend its socket, get answers. */
export interface BrokerMember extends ShareTarget {
  /** Whether its channel is open (a worker that left needs no answer). */
  readonly connected: boolean;
  /** Answers its query `ack` (never rejects). */
  reply(ack: number, result: QueryResult, handle?: unknown): Promise<void>;
}

/** What the broker needs from its cluster. */
export interface BrokerOptions<M extends BrokerMember> {
  /** The cluster's `policy` option, if the user set one. */
  policy: Policy | undefined;
  /** The cluster's `scheduler` option, if the user set one. @default "least-connections" */
  scheduler?: SchedulerOption;
  /** The cluster's `trustProxy` option. @default false */
  trustProxy?: boolean;
  /** The cluster's `sticky` option, resolved. @default undefined (off) */
  sticky?: Readonly<StickyOptions & StickyLimits>;
  /** A user scheduler function failed, or sticky routing refused heads (one per burst). */
  schedulerError?(error: ClusterError): void;
  /** Round-robin: handoffs a worker may have unacknowledged. @default by the runtime */
  maxInFlight?: number;
  /** The cluster's `strictReloads`: reuse-port workers serve with lendable listeners. */
  strictReloads: boolean;
  /** The worker `member` replaces, during a reload or recycle of its slot. */
  predecessor(member: M): M | undefined;
}

/**
 * Maps listen addresses to handles shared by workers.
 *
 * @example
 * ```ts ignore
 * const broker = new ServerBroker(adapter, { policy: undefined, strictReloads: false, predecessor: () => undefined });
 * await broker.query(member, queryMessage); // member.reply() gets the answer
 * broker.listening(member, key, address); // round-robin starts handing it connections
 * ```
 */
export class ServerBroker<M extends BrokerMember = BrokerMember> {
  #adapter: Promise<Adapter>;
  #options: BrokerOptions<M>;
  #handles = new Map<string, Promise<Handle>>();
  #bound = new Map<string, Handle>();
  /** The keys each member (by id) asked for and has not left. */
  #keys = new Map<number, Set<string>>();
  /** Sticky keys claimed by workers (`Cluster.worker.claim()`), for every address. */
  #claims: ClaimTable | undefined;

  constructor(adapter: Promise<Adapter>, options: BrokerOptions<M>) {
    this.#adapter = adapter;
    this.#options = options;
    const sticky = options.sticky;
    if (sticky) {
      this.#claims = new ClaimTable({ ttl: sticky.claimTtl, maxClaims: sticky.maxClaims });
    }
  }

  /**
   * A worker claims a sticky key: connections whose first request carries it go to that
   * worker. Without `sticky` nobody routes by keys: the claim is dropped.
   */
  claim(member: M, key: string): void {
    if (member.connected) this.#claims?.claim(key, member.id);
  }

  /**
   * A worker handed back a connection of round-robin `key` it refused after its runtime's
   * receipt (`returned`): routed again, to a worker not in `tried` nor this one. Anything
   * else (no such handle, a key it never asked for) is closed.
   */
  returned(member: M, key: string, connection: unknown, tried: readonly number[]): void {
    if (connection === undefined) return;
    const handle = this.#bound.get(key);
    if (handle instanceof RoundRobinHandle && this.#keys.get(member.id)?.has(key)) {
      return handle.returned(connection, [...tried, member.id]);
    }
    this.#adapter.then((adapter) => adapter.discard(connection), () => {});
  }

  /** Every bound address: its key, policy, workers and (round-robin) waiting connections. */
  *listeners(): Iterable<
    {
      key: string;
      policy: Policy;
      workers: number;
      queued: number | null;
      dropped: number | null;
    }
  > {
    for (const [key, handle] of this.#bound) {
      const policy: Policy = handle instanceof RoundRobinHandle
        ? "round-robin"
        : handle instanceof SharedHandle
        ? "shared"
        : "reuse-port";
      const rr = handle instanceof RoundRobinHandle ? handle : undefined;
      const dropped = rr?.dropped ?? null;
      yield { key, policy, workers: handle.size, queued: rr?.queued ?? null, dropped };
    }
  }

  /** The keys `member` holds (its addresses). */
  keysOf(member: M): ReadonlySet<string> {
    return this.#keys.get(member.id) ?? new Set();
  }

  /**
   * The policy a query gets: its own; else the cluster's `policy` option; else for `serve()`
   * `"reuse-port"` where the adapter can, otherwise (and for `listen()`) `"round-robin"`.
   */
  policyFor(adapter: Adapter, query: QueryMessage): Policy {
    if (query.policy) return query.policy;
    // A Unix socket is always round-robin (ServeOptions.path in src/serve_options.ts says why).
    if (query.path !== undefined) return "round-robin";
    if (this.#options.policy) return this.#options.policy;
    // Asking for a scheduler asks for the primary to route: the one policy where it does.
    if (this.#routed(query)) return "round-robin";
    const reusePort = adapter.capabilities.reusePort === true;
    return query.api === "serve" && reusePort ? "reuse-port" : "round-robin";
  }

  /**
   * A worker reports a bound server: joins it to the handle (round-robin starts handing it
   * connections). Synchronous. Returns false if the worker never asked for `key`.
   */
  listening(member: M, key: string, address: Address): boolean {
    const handle = this.#bound.get(key);
    if (!this.#keys.get(member.id)?.has(key) || !handle) return false;
    if (handle instanceof RoundRobinHandle) handle.add(member);
    if (handle instanceof ReusePortHandle) handle.bound(member.id, address.port);
    return true;
  }

  /** Closes every handle (shutdown): the primary's listen sockets stop accepting. */
  async closeAll(): Promise<void> {
    const handles = await Promise.allSettled(this.#handles.values());
    this.#handles.clear();
    this.#bound.clear();
    await Promise.all(
      handles.map((h) => h.status === "fulfilled" && "close" in h.value ? h.value.close() : null),
    );
  }

  /** Answers a worker's `query` (Node's `queryServer`): find or create the handle for the key. */
  async query(member: M, q: QueryMessage): Promise<void> {
    const adapter = await this.#adapter;
    // UDP is never round-robin (Node's primary shares every dgram socket: SharedHandle).
    const policy = q.udp ? "shared" : this.policyFor(adapter, q);
    const missing = q.udp
      ? missingUdp(adapter, q)
      : this.#unroutable(policy, q) ?? missingCapability(adapter, policy) ??
        (q.ipv6Only && policy === "reuse-port"
          ? 'ipv6Only is not supported under policy "reuse-port" (each worker binds there); ' +
            'use "round-robin" or "shared"'
          : undefined) ??
        (q.path !== undefined && policy !== "round-robin"
          ? `A Unix socket cannot be shared under policy "${policy}"; use "round-robin"`
          : undefined);
    const unreadable = missing ?? this.#unreadable(adapter, policy, q);
    if (unreadable) {
      return member.reply(q.seq, { ok: false, code: "UNSUPPORTED", message: unreadable });
    }
    const key = q.udp ? udpKey(q) : handleKey(policy, q);
    let pending = this.#handles.get(key);
    if (!pending) {
      pending = this.#createHandle(adapter, policy, key, q);
      this.#handles.set(key, pending);
      pending.then((handle) => this.#bound.set(key, handle), () => this.#handles.delete(key));
    }
    const ok = (port: number, hostname = q.hostname): QueryResult =>
      q.path === undefined
        ? { ok: true, policy, key, hostname, port }
        : { ok: true, policy, key, hostname: null, port: -1, path: q.path };
    try {
      const handle = await pending;
      if (!member.connected) return; // the worker left while the primary was binding
      this.#join(member, key);
      if (handle instanceof RoundRobinHandle) {
        const address = handle.listener!.address;
        return member.reply(q.seq, ok(address.port, address.hostname));
      }
      if (handle instanceof ReusePortHandle) {
        return await this.#reusePort(adapter, member, q, handle, ok);
      }
      await handle.acquire(member, (listenHandle) => member.reply(q.seq, ok(q.port), listenHandle));
    } catch (error) {
      await member.reply(q.seq, bindError(error, q));
    }
  }

  /** Removes `member` from the handle under `key`, closing the handle when it is unused. */
  async leave(member: M, key: string): Promise<void> {
    this.#keys.get(member.id)?.delete(key);
    const pending = this.#handles.get(key);
    const handle = await pending?.catch(() => undefined);
    if (!handle) return;
    handle.remove(member.id);
    if (handle.size === 0 && this.#handles.get(key) === pending) {
      this.#handles.delete(key);
      this.#bound.delete(key);
      if ("close" in handle) await handle.close();
    }
  }

  /** Removes `member` from every handle it joined (it disconnected or died). */
  async leaveAll(member: M): Promise<void> {
    this.#claims?.forgetWorker(member.id); // its clients are re-hashed over the others
    const keys = this.#keys.get(member.id);
    this.#keys.delete(member.id);
    for (const key of keys ?? []) await this.leave(member, key);
  }

  /** Whether the query or the cluster asked for a scheduler. */
  #routed(q: QueryMessage): boolean {
    return (q.scheduler ?? null) !== null || this.#options.scheduler !== undefined ||
      this.#options.sticky !== undefined;
  }

  /** Why `policy` cannot do the scheduling `q` asks for, or `undefined`. */
  #unroutable(policy: Policy, q: QueryMessage): string | undefined {
    if (policy === "round-robin" || !this.#routed(q)) return undefined;
    const who = q.scheduler
      ? `scheduler "${q.scheduler}"`
      : this.#options.scheduler !== undefined
      ? "the cluster's 'scheduler'"
      : "'sticky' keys";
    const why = policy === "shared" ? "the workers race to accept" : "the kernel picks the worker";
    return `Cannot route by ${who} under policy "${policy}": ${why}; use policy ` +
      `"round-robin", where the primary routes every connection`;
  }

  /**
   * What a round-robin address of an HTTP server routes by at L7: the `sticky` keys, or only
   * the heads (for `"ip-hash"` with `trustProxy`, which hashes the forwarded client address).
   */
  #routing(q: QueryMessage): StickyRouting | undefined {
    // Only an HTTP server's bytes are request heads: a net server's protocol may have the
    // server speak first (SMTP, MySQL), and reading a head there would end in a 408.
    if (q.http !== true) return undefined;
    const { sticky, trustProxy } = this.#options;
    if (sticky) return { ...sticky, claims: this.#claims };
    const scheduler = q.scheduler ?? this.#options.scheduler;
    if (trustProxy && scheduler === "ip-hash") return { ...DEFAULTS.sticky, claims: undefined };
    return undefined;
  }

  /**
   * Why the adapter cannot do the L7 work a round-robin address of `q` needs (read heads, tell
   * peers), or `undefined`: refused rather than routing nothing by key, silently.
   */
  #unreadable(adapter: Adapter, policy: Policy, q: QueryMessage): string | undefined {
    if (policy !== "round-robin") return undefined;
    const caps = adapter.capabilities, where = `${adapter.runtime} ${adapter.version}`;
    const why = (cap: true | { reason: string } | undefined, name: string) =>
      cap === undefined
        ? `its adapter does not declare the '${name}' capability`
        : (cap as { reason: string }).reason;
    if (this.#routing(q) && caps.readHead !== true) {
      return `${this.#options.sticky ? "'sticky' routing" : "ip-hash with 'trustProxy'"} reads ` +
        `request heads in the primary, which ${where} cannot: ${why(caps.readHead, "readHead")}`;
    }
    if ((q.scheduler ?? this.#options.scheduler) === "ip-hash" && caps.peerAddress !== true) {
      return `Scheduler "ip-hash" needs each client's address in the primary, which ${where} ` +
        `cannot tell: ${why(caps.peerAddress, "peerAddress")}; use another scheduler`;
    }
    return undefined;
  }

  #join(member: M, key: string): void {
    const keys = this.#keys.get(member.id);
    if (keys) keys.add(key);
    else this.#keys.set(member.id, new Set([key]));
  }

  async #reusePort(
    adapter: Adapter,
    member: M,
    q: QueryMessage,
    handle: ReusePortHandle,
    ok: (port: number) => QueryResult,
  ): Promise<void> {
    const port = await handle.portFor(member.id);
    const result = { ...ok(port), strict: this.#options.strictReloads } as QueryResult;
    // A replacement inherits its predecessor's socket: no listener closes during a reload, so
    // no queued connection is reset.
    const predecessor = this.#options.predecessor(member);
    const lent = predecessor && this.#keys.get(predecessor.id)?.has(handle.key)
      ? await predecessor.lend(handle.key).catch(() => undefined)
      : undefined;
    if (lent === undefined) return member.reply(q.seq, result);
    // The socket passes through the primary, which may accept on it for a moment (the adapter
    // relays those connections once its copy is closed).
    const adopted = adapter.adopt(lent);
    await member.reply(q.seq, result, lent);
    await adopted.close();
  }

  async #createHandle(
    adapter: Adapter,
    policy: Policy,
    key: string,
    q: QueryMessage,
  ): Promise<Handle> {
    const options = {
      hostname: q.hostname ?? undefined,
      port: q.port,
      backlog: q.backlog ?? undefined,
      ...(q.ipv6Only ? { ipv6Only: true } : {}),
      ...(q.path === undefined ? {} : { path: q.path }),
    };
    if (policy === "reuse-port") return new ReusePortHandle(key, q.port);
    if (q.udp && adapter.bindUdp && adapter.adoptUdp) {
      const { bindUdp, adoptUdp } = adapter;
      const udp = {
        type: q.udp,
        hostname: options.hostname,
        port: q.port,
        ipv6Only: q.ipv6Only,
        reuseAddr: q.reuseAddr,
        fd: q.fd,
      };
      return new SharedHandle(key, {
        bind: () => bindUdp.call(adapter, udp),
        adopt: (handle) => adoptUdp.call(adapter, handle),
      });
    }
    if (policy === "shared") {
      return new SharedHandle(key, {
        bind: (onConnection) => adapter.listen(options, onConnection),
        adopt: (handle) => adapter.adopt(handle),
      });
    }
    // The first query of an address decides its scheduler, as it decides the backlog.
    const sticky = this.#routing(q);
    // Handoffs with head bytes are answered by the worker, the others settled by the runtime's
    // receipt where it gives one (WorkerRecord.pass): DEFAULTS.maxInFlight says why it matters.
    const receipts = adapter.capabilities.handoffReceipts === true && sticky === undefined;
    const handle = new RoundRobinHandle(key, {
      maxInFlight: this.#options.maxInFlight ??
        (receipts ? DEFAULTS.maxInFlight.receipts : DEFAULTS.maxInFlight.answered),
      maxQueue: Math.max(q.backlog ?? 511, 64),
      scheduler: q.scheduler ?? this.#options.scheduler,
      trustProxy: this.#options.trustProxy,
      onError: (error) => this.#options.schedulerError?.(error),
      sticky,
    });
    handle.listener = await adapter.listen(options, (c) => handle.distribute(c));
    return handle;
  }
}

/**
 * The handle key of a query under `policy`: "policy|host|port" ("policy|unix:path" for a Unix
 * socket). For port 0, the Nth server of each worker on that host shares one port (Node's
 * `index`), so the index is part of the key.
 *
 * @example
 * ```ts ignore
 * handleKey("round-robin", { hostname: null, port: 0, index: 1 }); // "round-robin||0#1"
 * ```
 */
export function handleKey(
  policy: Policy,
  q: Pick<QueryMessage, "hostname" | "port" | "index" | "ipv6Only" | "path">,
): string {
  if (q.path !== undefined) return `${policy}|unix:${q.path}`;
  const port = `${q.port}${q.port === 0 ? `#${q.index}` : ""}`;
  // An IPv6-only bind is another socket than a dual-stack one on the same host and port.
  return `${policy}|${q.hostname ?? ""}|${port}${q.ipv6Only ? "|v6only" : ""}`;
}

/**
 * The handle key of a UDP query: "udp4|host|port" (`#index` for port 0, as for TCP).
 *
 * @example
 * ```ts ignore
 * udpKey({ udp: "udp4", hostname: "127.0.0.1", port: 0, index: 0 }); // "udp4|127.0.0.1|0#0"
 * ```
 */
export function udpKey(
  q: Pick<QueryMessage, "udp" | "hostname" | "port" | "index" | "ipv6Only" | "fd">,
): string {
  if (q.fd !== undefined) return `${q.udp}|fd:${q.fd}`; // Node's key has the fd, no address
  const port = `${q.port}${q.port === 0 ? `#${q.index}` : ""}`;
  return `${q.udp}|${q.hostname ?? ""}|${port}${q.ipv6Only ? "|v6only" : ""}`;
}

/** Why `adapter` cannot share the UDP socket `q` asks for, or `undefined` if it can. */
function missingUdp(adapter: Adapter, q: QueryMessage): string | undefined {
  const caps = adapter.capabilities;
  const where = `${adapter.runtime} ${adapter.version}`;
  if (q.policy && q.policy !== "shared") {
    return `Policy "${q.policy}" is not available for UDP: the primary shares every ${q.udp} ` +
      `socket (policy "shared"); bind it exclusive to have a worker bind alone`;
  }
  if (caps.sharedUdp !== true || !adapter.bindUdp || !adapter.adoptUdp || !caps.handlePassing) {
    const why = caps.sharedUdp === true || caps.sharedUdp === undefined
      ? "its adapter cannot send UDP sockets to workers"
      : caps.sharedUdp.reason;
    return `Workers cannot share ${q.udp} sockets on ${where}: ${why}; bind the socket ` +
      "exclusive (each worker binds its own port)";
  }
  return undefined;
}

/**
 * Why `adapter` cannot do `policy`, or `undefined` if it can.
 *
 * @example
 * ```ts ignore
 * const missing = missingCapability(adapter, "shared");
 * if (missing) throw new ClusterError("UNSUPPORTED", missing);
 * ```
 */
export function missingCapability(adapter: Adapter, policy: Policy): string | undefined {
  const caps = adapter.capabilities;
  const where = `${adapter.runtime} ${adapter.version}`;
  if (policy === "reuse-port" && caps.reusePort !== true) {
    return `Policy "reuse-port" is not available on ${where}: ${caps.reusePort.reason}; ` +
      `use "round-robin"`;
  }
  if (policy === "shared" && caps.sharedListenHandle !== true) {
    return `Policy "shared" is not available on ${where}: ${caps.sharedListenHandle.reason}; ` +
      `use "round-robin" or "reuse-port"`;
  }
  if (policy !== "reuse-port" && !caps.handlePassing) {
    return `Policy "${policy}" needs handle passing, which ${where} lacks; use "reuse-port"`;
  }
  return undefined;
}

function bindError(error: unknown, q: QueryMessage): QueryResult {
  const code = (error as { code?: unknown })?.code;
  const where = q.path ?? `${q.hostname ?? "*"}:${q.port}`;
  return {
    ok: false,
    code: typeof code === "string" ? code : "EUNKNOWN",
    message: `The primary could not listen on ${where}: ` +
      `${(error as Error)?.message ?? String(error)}`,
  };
}
