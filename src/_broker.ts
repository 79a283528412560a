// The primary's `queryServer` broker (Node's primary.js `queryServer` and its `handles` map):
// each listen address a worker asks for maps to one round-robin, shared or reuse-port handle,
// keyed by policy, host and port, created on the first query and closed with the last member.

import type { Entry } from "./_entry.ts";
import type { QueryResult, WorkerToPrimary } from "./protocol.ts";
import { ReusePortHandle } from "./reuse_port_handle.ts";
import { RoundRobinHandle } from "./round_robin_handle.ts";
import { SharedHandle } from "./shared_handle.ts";
import type { Adapter, Address, Policy } from "./types.ts";

type Handle = RoundRobinHandle | SharedHandle | ReusePortHandle;
type Query = Extract<WorkerToPrimary, { cmd: "query" }>;

/** What the broker needs from its cluster. */
export interface BrokerOptions {
  /** The cluster's policy, for queries that name none. */
  policy: Policy;
  /** Round-robin: handoffs a worker may have unacknowledged. */
  maxInFlight: number;
  /** The worker `entry` replaces, during a reload or recycle of its slot. */
  predecessor(entry: Entry): Entry | undefined;
}

/** Maps listen addresses to handles shared by workers. */
export class ServerBroker {
  #adapter: Promise<Adapter>;
  #options: BrokerOptions;
  #handles = new Map<string, Promise<Handle>>();
  #bound = new Map<string, Handle>();

  constructor(adapter: Promise<Adapter>, options: BrokerOptions) {
    this.#adapter = adapter;
    this.#options = options;
  }

  /**
   * A worker reports a bound server: joins it to the handle (round-robin starts handing it
   * connections). Synchronous. Returns false if the worker never asked for `key`.
   */
  listening(entry: Entry, key: string, address: Address): boolean {
    const handle = this.#bound.get(key);
    if (!entry.keys.has(key) || !handle) return false;
    if (handle instanceof RoundRobinHandle) handle.add(entry);
    if (handle instanceof ReusePortHandle) handle.bound(entry.id, address.port);
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
  async query(entry: Entry, q: Query): Promise<void> {
    const adapter = await this.#adapter;
    const policy = q.policy ?? this.#options.policy;
    const missing = missingCapability(adapter, policy);
    if (missing) return entry.reply(q.seq, { ok: false, code: "UNSUPPORTED", message: missing });
    // Port 0: the Nth server of each worker on that host shares one port (Node's `index`).
    const key = `${policy}|${q.hostname ?? ""}|${q.port}${q.port === 0 ? `#${q.index}` : ""}`;
    let pending = this.#handles.get(key);
    if (!pending) {
      pending = this.#createHandle(adapter, policy, key, q);
      this.#handles.set(key, pending);
      pending.then((handle) => this.#bound.set(key, handle), () => this.#handles.delete(key));
    }
    const ok = (port: number, hostname = q.hostname): QueryResult => ({
      ok: true,
      policy,
      key,
      hostname,
      port,
    });
    try {
      const handle = await pending;
      if (!entry.connected) return; // the worker left while the primary was binding
      entry.keys.add(key);
      if (handle instanceof RoundRobinHandle) {
        const address = handle.listener!.address;
        return entry.reply(q.seq, ok(address.port, address.hostname));
      }
      if (handle instanceof ReusePortHandle) {
        const port = await handle.portFor(entry.id);
        // A replacement inherits its predecessor's socket: no listener closes during a reload,
        // so no queued connection is reset.
        const predecessor = this.#options.predecessor(entry);
        const lent = predecessor?.keys.has(key)
          ? await predecessor.lend(key).catch(() => undefined)
          : undefined;
        if (lent === undefined) return entry.reply(q.seq, ok(port));
        // The socket passes through the primary, which may accept on it for a moment (the
        // adapter relays those connections once its copy is closed).
        const adopted = adapter.adopt(lent);
        await entry.reply(q.seq, ok(port), lent);
        await adopted.close();
        return;
      }
      await handle.acquire(entry, (listenHandle) => entry.reply(q.seq, ok(q.port), listenHandle));
    } catch (error) {
      await entry.reply(q.seq, bindError(error, q.hostname, q.port));
    }
  }

  async #createHandle(
    adapter: Adapter,
    policy: Policy,
    key: string,
    q: Query,
  ): Promise<RoundRobinHandle | SharedHandle | ReusePortHandle> {
    const options = {
      hostname: q.hostname ?? undefined,
      port: q.port,
      backlog: q.backlog ?? undefined,
    };
    if (policy === "reuse-port") return new ReusePortHandle(key, q.port);
    if (policy === "shared") {
      return new SharedHandle(key, {
        bind: (onConnection) => adapter.listen(options, onConnection),
        adopt: (handle) => adapter.adopt(handle),
      });
    }
    const handle = new RoundRobinHandle(key, {
      maxInFlight: this.#options.maxInFlight,
      maxQueue: Math.max(q.backlog ?? 511, 64),
    });
    handle.listener = await adapter.listen(options, (c) => handle.distribute(c));
    return handle;
  }

  /** Removes `entry` from the handle under `key`, closing the handle when it is unused. */
  async leave(entry: Entry, key: string): Promise<void> {
    entry.keys.delete(key);
    const pending = this.#handles.get(key);
    const handle = await pending?.catch(() => undefined);
    if (!handle) return;
    handle.remove(entry.id);
    if (handle.size === 0 && this.#handles.get(key) === pending) {
      this.#handles.delete(key);
      this.#bound.delete(key);
      if ("close" in handle) await handle.close();
    }
  }
}

/** Why `adapter` cannot do `policy`, or `undefined` if it can. */
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

function bindError(error: unknown, hostname: string | null, port: number): QueryResult {
  const code = (error as { code?: unknown })?.code;
  return {
    ok: false,
    code: typeof code === "string" ? code : "EUNKNOWN",
    message: `The primary could not listen on ${hostname ?? "*"}:${port}: ` +
      `${(error as Error)?.message ?? String(error)}`,
  };
}
