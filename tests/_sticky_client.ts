// A raw HTTP/1.1 client for the sticky routing tests: writes exactly the bytes given (pipelined
// requests in one write, keep-alive requests later) and splits the answers.

import net from "node:net";

/**
 * One connection to 127.0.0.1:`port`; collects response bodies ("worker <id> …").
 *
 * @example
 * ```ts ignore
 * const c = new RawConnection(port);
 * c.write(request("/a") + request("/b")); // pipelined
 * console.log(await c.responses(2));
 * c.close();
 * ```
 */
export class RawConnection {
  readonly socket: net.Socket;
  #data = "";
  #closed = false;
  #waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = net.connect({ host: "127.0.0.1", port });
    this.socket.setEncoding("utf8");
    this.socket.on("data", (chunk: string) => {
      this.#data += chunk;
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.#closed = true;
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Writes raw bytes. */
  write(text: string): void {
    this.socket.write(text);
  }

  /** All bytes received. */
  get data(): string {
    return this.#data;
  }

  /** The bodies of the complete responses so far (Content-Length framed). */
  get bodies(): string[] {
    const bodies: string[] = [];
    let rest = this.#data;
    while (true) {
      const end = rest.indexOf("\r\n\r\n");
      if (end === -1) break;
      const length = Number(/content-length: *(\d+)/i.exec(rest.slice(0, end))?.[1] ?? 0);
      if (rest.length < end + 4 + length) break;
      bodies.push(rest.slice(end + 4, end + 4 + length));
      rest = rest.slice(end + 4 + length);
    }
    return bodies;
  }

  /** Waits until `n` responses arrived (or the connection closed, or 10 s passed). */
  async responses(n: number): Promise<string[]> {
    const deadline = Date.now() + 10_000;
    while (this.bodies.length < n && !this.#closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.bodies;
  }

  /** Waits for the connection to close (10 s at most). */
  async closed(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!this.#closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * A GET request's bytes with extra header lines.
 *
 * @example
 * ```ts ignore
 * request("/", { Cookie: "session=s1" }); // "GET / HTTP/1.1\r\nHost: x\r\nCookie: session=s1\r\n\r\n"
 * ```
 */
export function request(path: string, headers: Record<string, string> = {}): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return `GET ${path} HTTP/1.1\r\nHost: x\r\n${lines}\r\n`;
}

/**
 * One request on a new connection (closed after it); resolves with the answering worker's id.
 *
 * @example
 * ```ts ignore
 * const id = await workerFor(port, "/", { "X-User": "u1" }); // e.g. 2
 * ```
 */
export async function workerFor(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  const c = new RawConnection(port);
  try {
    c.write(request(path, { ...headers, Connection: "close" }));
    const [body] = await c.responses(1);
    const id = Number(/^worker (\d+)/.exec(body ?? "")?.[1]);
    if (!Number.isInteger(id)) throw new Error(`unexpected answer: ${JSON.stringify(c.data)}`);
    return id;
  } finally {
    c.close();
  }
}
