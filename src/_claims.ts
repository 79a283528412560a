// Which worker owns a sticky key (L7 `sticky` routing): `Cluster.worker.claim(key)` in a worker
// makes it the key's owner, since keys born in a worker (Socket.IO's `sid`, a session id) cannot
// be guessed by any hash. A claim is forgotten when its worker leaves, and after `ttl` ms
// without a connection routed by it. A lookup of a key nobody claimed yet may wait a moment for
// the claim: the worker's claim message and the client's next request race each other.

/** Options of {@linkcode ClaimTable}. */
export interface ClaimTableOptions {
  /** A claim unused this long (ms) is forgotten. */
  ttl: number;
  /** At most this many claims are kept; beyond, the least recently used go first. */
  maxClaims: number;
  /** Monotonic clock (ms). @default performance.now */
  now?: () => number;
}

interface Claim {
  worker: number;
  usedAt: number;
}

/**
 * The claims of one cluster, by key.
 *
 * @example
 * ```ts
 * import { ClaimTable } from "./_claims.ts";
 * const claims = new ClaimTable({ ttl: 60_000, maxClaims: 100_000 });
 * claims.claim("sid-1", 3);
 * console.log(claims.owner("sid-1")); // 3
 * claims.forgetWorker(3);
 * console.log(claims.owner("sid-1")); // undefined
 * ```
 */
export class ClaimTable {
  #options: ClaimTableOptions;
  #now: () => number;
  /** In least-recently-used order (a Map keeps insertion order; a use re-inserts). */
  #claims = new Map<string, Claim>();
  #waiters = new Map<string, Set<(worker: number | undefined) => void>>();

  constructor(options: ClaimTableOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Claims kept now. */
  get size(): number {
    return this.#claims.size;
  }

  /** Makes `worker` the owner of `key` (a later claim of another worker wins). */
  claim(key: string, worker: number): void {
    this.#claims.delete(key);
    this.#claims.set(key, { worker, usedAt: this.#now() });
    this.#expire();
    for (const wake of this.#waiters.get(key) ?? []) wake(worker);
    this.#waiters.delete(key);
  }

  /** The owner of `key`, or `undefined`; a hit counts as a use (it postpones the expiry). */
  owner(key: string): number | undefined {
    const claim = this.#claims.get(key);
    if (!claim) return undefined;
    const now = this.#now();
    if (now - claim.usedAt > this.#options.ttl) {
      this.#claims.delete(key);
      return undefined;
    }
    claim.usedAt = now;
    this.#claims.delete(key);
    this.#claims.set(key, claim);
    return claim.worker;
  }

  /**
   * The owner of `key`, waiting up to `ms` for a claim if there is none yet; `undefined` if
   * nobody claimed it by then.
   */
  waitFor(key: string, ms: number): Promise<number | undefined> {
    const owner = this.owner(key);
    if (owner !== undefined || ms <= 0) return Promise.resolve(owner);
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(key) ?? new Set();
      this.#waiters.set(key, waiters);
      const done = (worker: number | undefined) => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        resolve(worker);
      };
      const timer = setTimeout(() => done(undefined), ms);
      waiters.add(done);
    });
  }

  /** Forgets every claim of `worker` (it exited or left the address). */
  forgetWorker(worker: number): void {
    for (const [key, claim] of this.#claims) {
      if (claim.worker === worker) this.#claims.delete(key);
    }
  }

  /** Drops expired claims from the old end, and the oldest beyond `maxClaims`. */
  #expire(): void {
    const now = this.#now();
    for (const [key, claim] of this.#claims) {
      const stale = now - claim.usedAt > this.#options.ttl;
      if (!stale && this.#claims.size <= this.#options.maxClaims) break;
      this.#claims.delete(key);
    }
  }
}
