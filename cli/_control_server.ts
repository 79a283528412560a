// The primary's control socket: a node:net server on a Unix socket, mode 0600, that reads one
// request line per connection (_control_protocol.ts), hands it to the run, and writes the reply.
// A client that sends garbage, too much, or nothing gets an error reply or a closed connection;
// nothing a client does reaches the primary as an exception.

import { chmodSync, unlinkSync } from "node:fs";
import net from "node:net";
import {
  type ControlReply,
  type ControlRequest,
  MAX_REQUEST_BYTES,
  parseRequest,
} from "./_control_protocol.ts";
import { UsageError } from "./_usage_error.ts";

/** How long a client may take to send its request line (ms). */
const REQUEST_TIMEOUT_MS = 5000;

/** Answers one request. */
export type ControlHandler = (request: ControlRequest) => Promise<ControlReply>;

/** Whether something answers at `socket` (a live primary), or it is a stale file / nothing. */
function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const client = net.connect(socket);
    client.once("connect", () => (client.destroy(), resolve(true)));
    client.once("error", () => resolve(false));
  });
}

/**
 * A listening control socket.
 *
 * @example
 * ```ts ignore
 * import { ControlServer } from "./_control_server.ts";
 * const server = await ControlServer.listen("/run/user/1000/x-cluster/x-cluster.sock", handler);
 * // … at the end:
 * server.close();
 * ```
 */
export class ControlServer {
  #server: net.Server;
  #path: string;

  private constructor(server: net.Server, path: string) {
    this.#server = server;
    this.#path = path;
  }

  /** The socket's path. */
  get path(): string {
    return this.#path;
  }

  /**
   * Listens on `path`, replacing a stale socket file; throws a {@linkcode UsageError} when
   * another primary answers there or the path cannot be bound.
   */
  static async listen(path: string, handle: ControlHandler): Promise<ControlServer> {
    if (await answers(path)) {
      throw new UsageError(
        `another x-cluster answers on the control socket ${path}: stop it, or give this one ` +
          "--control <path>",
      );
    }
    try {
      unlinkSync(path); // a socket file left by a primary that was killed
    } catch {
      // nothing there
    }
    const server = net.createServer({ allowHalfOpen: true }, (socket) => serve(socket, handle));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    }).catch((error) => {
      throw new UsageError(
        `cannot listen on the control socket ${path}: ${
          (error as { code?: string }).code ?? error
        }` +
          ": give --control <path> in a directory you can write",
      );
    });
    // Bound with the umask's mode: close it to everyone else at once (the default directory
    // is 0700 as well, so no one else could reach it meanwhile).
    chmodSync(path, 0o600);
    server.on("error", () => {}); // an accept error: that client is gone, the primary serves on
    return new ControlServer(server, path);
  }

  /** Stops listening and removes the socket file. */
  close(): void {
    this.#server.close();
    try {
      unlinkSync(this.#path);
    } catch {
      // already gone
    }
  }
}

/** One client: one request line in, one reply line out. */
function serve(socket: net.Socket, handle: ControlHandler): void {
  let buffer = "";
  let answered = false;
  const reply = (value: ControlReply): void => {
    if (answered) return;
    answered = true;
    socket.end(`${JSON.stringify(value)}\n`);
    // A client that keeps its side open after the reply is not waited for.
    setTimeout(() => socket.destroy(), 1000).unref?.();
  };
  const request = (line: string): void => {
    socket.setTimeout(0);
    const parsed = parseRequest(line);
    if (typeof parsed === "string") return reply({ ok: false, error: parsed });
    handle(parsed).then(reply, (error) => {
      reply({ ok: false, error: (error as Error)?.message ?? String(error) });
    });
  };
  socket.setEncoding("utf8");
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => {
    reply({ ok: false, error: `no request line within ${REQUEST_TIMEOUT_MS} ms` });
  });
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk: string) => {
    if (answered) return;
    buffer += chunk;
    const nl = buffer.indexOf("\n");
    if (nl !== -1) request(buffer.slice(0, nl));
    else if (buffer.length > MAX_REQUEST_BYTES) {
      reply({ ok: false, error: `the request is longer than ${MAX_REQUEST_BYTES} bytes` });
    }
  });
  // (allowHalfOpen) a client that ends its side without a newline still gets its reply.
  socket.on("end", () => {
    if (answered) return;
    if (buffer.trim() !== "") request(buffer);
    else socket.destroy();
  });
}
