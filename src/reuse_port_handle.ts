// The "reuse-port" policy: every worker binds its own SO_REUSEPORT socket and the kernel spreads
// connections; the primary is out of the data path. Modelled on Bun's ReusePortHandle
// (src/js/internal/cluster/ReusePortHandle.ts). What the primary still does is keep `listen(0)`
// meaning one port for all: the first worker binds port 0, and the others wait for its real
// port and bind that.

/** Workers sharing one SO_REUSEPORT address. */
export class ReusePortHandle {
  readonly key: string;
  #members = new Set<number>();
  #port: number;
  #binder: number | undefined;
  #waiters: Array<(port: number | undefined) => void> = [];

  constructor(key: string, port: number) {
    this.key = key;
    this.#port = port;
  }

  /** Number of member workers. */
  get size(): number {
    return this.#members.size;
  }

  /** Whether `id` is a member. */
  has(id: number): boolean {
    return this.#members.has(id);
  }

  /**
   * The port worker `id` must bind. For port 0, the first caller binds 0 and the others
   * wait until it reported its real port (or gave up, in which case the next one binds 0).
   */
  async portFor(id: number): Promise<number> {
    this.#members.add(id);
    while (this.#port === 0) {
      if (this.#binder === undefined) {
        this.#binder = id;
        return 0;
      }
      const port = await new Promise<number | undefined>((resolve) => this.#waiters.push(resolve));
      if (!this.#members.has(id)) throw new Error(`Worker ${id} left before the port was bound`);
      if (port !== undefined) return port;
    }
    return this.#port;
  }

  /** A member bound: remember the real port. */
  bound(id: number, port: number): void {
    if (this.#port === 0 && id === this.#binder) {
      this.#port = port;
      this.#wake(port);
    }
  }

  /** A member left (closed or died). */
  remove(id: number): void {
    this.#members.delete(id);
    if (id === this.#binder && this.#port === 0) {
      this.#binder = undefined;
      this.#wake(undefined);
    }
  }

  #wake(port: number | undefined): void {
    for (const resolve of this.#waiters.splice(0)) resolve(port);
  }
}
