// Reads a request head from a connection the primary accepted paused (L7 `sticky` routing), and
// stops reading once it has it: the connection is then handed to a worker with the bytes read,
// and the worker puts them back in front of the socket's own with `socket.unshift()` (see
// _http_server.ts) — a public stream API on Node, Deno and Bun, where @socket.io/sticky pokes
// the private `socket._handle.onread`.
// Stopping matters: `pause()` only stops `data` events; the runtime goes on reading into the
// stream's buffer up to its high-water mark, and those bytes (a POST body sent after its head)
// would die with the primary's copy of the socket. So the handle's read is stopped where it has
// one (`readStop()`, as node:net itself does at the high-water mark), and whatever the stream
// still holds at handoff time is collected by `rest()` and sent along.

import { Buffer } from "node:buffer";
import type net from "node:net";
import type { HeadRead } from "../src/scheduler_types.ts";

const END = Buffer.from("\r\n\r\n");

/**
 * Reads `socket` until the end of a request head. Beyond `maxBytes` it answers 431, after
 * `timeout` ms 408, and closes the connection.
 *
 * @example
 * ```ts ignore
 * const read = await readHead(socket, { maxBytes: 16384, timeout: 5000 });
 * if (read.ok) console.log(read.bytes.length);
 * ```
 */
export function readHead(
  socket: net.Socket,
  limits: { maxBytes: number; timeout: number },
): Promise<HeadRead> {
  return new Promise((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (result: HeadRead) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onClose);
      resolve(result);
    };
    const refuse = (status: string, reason: "too-large" | "timeout") => {
      finish({ ok: false, reason });
      socket.on("error", () => {});
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      setTimeout(() => socket.destroy(), 1000).unref?.();
    };
    const onData = (chunk: Buffer) => {
      // Search only the new bytes (and the 3 before them, where an end may start).
      const from = Math.max(0, buffered.length - 3);
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(END, from);
      if (end === -1) {
        if (buffered.length > limits.maxBytes) refuse("431 Request Header Fields Too Large", "too-large");
        return;
      }
      if (end + END.length > limits.maxBytes) {
        return refuse("431 Request Header Fields Too Large", "too-large");
      }
      socket.pause();
      // Bytes the stream read ahead meanwhile belong to the worker too.
      buffered = Buffer.concat([buffered, drain(socket)]);
      stopReading(socket);
      const rest = (): Uint8Array => {
        const more = drain(socket);
        stopReading(socket);
        return new Uint8Array(more.buffer, more.byteOffset, more.length);
      };
      finish({ ok: true, bytes: new Uint8Array(buffered.buffer, buffered.byteOffset, buffered.length), rest });
    };
    const onClose = () => finish({ ok: false, reason: "closed" });
    const timer = setTimeout(() => refuse("408 Request Timeout", "timeout"), limits.timeout);
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("error", onClose);
    socket.resume();
  });
}

/** What the stream has buffered (without asking the runtime for more). */
function drain(socket: net.Socket): Buffer {
  const chunks: Buffer[] = [];
  // `read()` on an empty buffer would start the handle reading again: only take what is there.
  while (socket.readableLength > 0) {
    const chunk = socket.read(socket.readableLength) as Buffer | null;
    if (chunk === null) break;
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

interface StreamHandle {
  reading?: boolean;
  readStop?: () => number;
  pause?: () => void;
}

/**
 * Stops the runtime reading the socket's descriptor: Node's and Deno's libuv-style handle by
 * `readStop()`, Bun's native socket by its `pause()` (Bun's stream `pause()` does not reach it).
 * Call it after `drain()`: a `read()` may start the handle reading again.
 */
function stopReading(socket: net.Socket): void {
  const handle = (socket as unknown as { _handle?: StreamHandle })._handle;
  if (typeof handle?.readStop === "function") {
    handle.reading = false;
    handle.readStop();
  } else if (typeof handle?.pause === "function") {
    handle.pause();
  }
}
