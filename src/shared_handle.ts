// The "shared" policy: Node's SharedHandle (lib/internal/cluster/shared_handle.js), where one
// listen socket is given to every worker and each worker accepts on it (SCHED_NONE).
// Deviation: Node binds without listening in the primary (an internal TCP handle), so the primary
// never accepts. Public APIs cannot bind without listening, so the primary gives its copy away:
// it listens, sends the socket to the first worker and closes its own copy; a worker that
// joins later gets the socket lent by a worker that holds it (through the primary). Connections
// the primary accepts in those short windows are handed to holders like round-robin ones.

import { type HandoffTarget, RoundRobinHandle } from "./round_robin_handle.ts";
import type { Listener } from "./types.ts";

/** A worker that holds (or will hold) the shared socket. */
export interface ShareTarget extends HandoffTarget {
  /** Asks the worker for its copy of the listen socket; `undefined` if it has none. */
  lend(key: string): Promise<unknown>;
}

/** How a {@linkcode SharedHandle} gets a listen socket into the primary. */
export interface SharedHandleSource {
  /** Binds a fresh listen socket (rejects with the system error). */
  bind(onConnection: (connection: unknown) => void): Promise<Listener>;
  /** Wraps a listen socket a worker lent. */
  adopt(handle: unknown): Listener;
}

/** One shared listen socket and the workers holding it. */
export class SharedHandle {
  readonly key: string;
  #source: SharedHandleSource;
  #holders = new Map<number, ShareTarget>();
  #gone = new Set<number>();
  #fallback: RoundRobinHandle;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(key: string, source: SharedHandleSource) {
    this.key = key;
    this.#source = source;
    this.#fallback = new RoundRobinHandle(key, { maxInFlight: 4, maxQueue: 512 });
  }

  /** Number of holders. */
  get size(): number {
    return this.#holders.size;
  }

  /** Whether `id` holds the socket. */
  has(id: number): boolean {
    return this.#holders.has(id);
  }

  /**
   * Gets the listen socket into the primary (fresh or lent) and calls `give` with it; once
   * `give` resolved (the handle is on its way to `target`), closes the primary's copy and
   * records `target` as a holder. Calls are serialized.
   */
  acquire(target: ShareTarget, give: (handle: unknown) => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      const onConnection = (connection: unknown): void => this.#fallback.distribute(connection);
      let listener: Listener | undefined;
      for (const holder of this.#holders.values()) {
        const handle = await holder.lend(this.key).catch(() => undefined);
        if (handle !== undefined) {
          listener = this.#source.adopt(handle);
          break;
        }
      }
      listener ??= await this.#source.bind(onConnection);
      this.#fallback.listener = listener;
      try {
        await give(listener.handle);
        if (!this.#gone.has(target.id)) {
          this.#holders.set(target.id, target);
          this.#fallback.add(target);
        }
      } finally {
        await listener.close();
      }
    };
    const result = this.#turn.then(run, run);
    this.#turn = result.catch(() => {});
    return result;
  }

  /** Forgets a holder (its copy closed or it died). */
  remove(id: number): void {
    this.#gone.add(id);
    this.#holders.delete(id);
    this.#fallback.remove(id);
  }

  /** Closes connections still waiting in the fallback queue. */
  close(): Promise<void> {
    return this.#fallback.close();
  }
}
