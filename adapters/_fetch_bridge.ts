// Runs a fetch-style handler (Request → Response) inside a node:http server: the bridge used
// where the primary hands connections over (a node:http server is the one server every runtime
// can feed with sockets). The Request is built lazily (`_fetch_request.ts`); a string or bytes
// body goes out in one `end()` with its Content-Length; only a real stream is streamed.
//
// Measured (one node:http server, wrk -t1 -c64 -d4s, hello world; medians of 6 runs alternating
// raw `res.end("hello")` / previous bridge / this one, on a box shared with other benchmarks;
// req/s as a ratio of raw, then server CPU per request as a ratio of raw):
//   Node 24   keep-alive: old ×0.34 (CPU ×3.5), new ×0.45 (CPU ×2.3); close: ×0.60 → ×0.75
//   Deno 2.9  keep-alive: old ×0.49 (CPU ×2.5), new ×0.82 (CPU ×1.3); close: ×0.64 → ×0.82
//   Bun 1.4   keep-alive: old ×0.41 (CPU ×2.7), new ×0.61 (CPU ×1.7); close: ×0.64 → ×0.75
// What is left on Node is mostly the handler's own `new Response("hello")` (undici builds a
// stream for it: 6–10 µs here) and reading that stream; on Bun, reading the stream (4–6 µs).

import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FetchHandler } from "../src/types.ts";
import { hasName, recorded, type RecordedResponse } from "./_fast_response.ts";
import { lazyRequest } from "./_fetch_request.ts";
import { type StaticBody, staticBody } from "./_fetch_static_body.ts";

/** One read of a body stream (named here: the DOM and Bun typings spell it differently). */
type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>>;

/**
 * Wraps `handler` as a node:http request listener.
 *
 * @example Serving a fetch handler with node:http
 * ```ts
 * import http from "node:http";
 * import { fetchListener } from "./_fetch_bridge.ts";
 *
 * http.createServer(fetchListener(() => new Response("hello"))).listen(8000, "127.0.0.1");
 * ```
 */
export function fetchListener(
  handler: FetchHandler,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    let result: Response | Promise<Response>;
    try {
      result = handler(lazyRequest(req, res));
    } catch (error) {
      return failed(res, error);
    }
    // A handler that answers synchronously is sent without a promise.
    if (result instanceof Response) return send(req, res, result);
    Promise.resolve(result).then(
      (response) => send(req, res, response),
      (error) => failed(res, error),
    );
  };
}

/** Sends `response`; a failure on the way becomes a 500 (or a destroyed socket). */
function send(req: IncomingMessage, res: ServerResponse, response: Response): void {
  try {
    const parts = typeof response === "object" && response !== null
      ? recorded(response)
      : undefined;
    if (parts !== undefined) return sendRecorded(req, res, parts);
    if (!(response instanceof Response)) {
      throw new TypeError(
        `Invalid handler result: expected a Response, got ${
          describe(response)
        }; return a Response from the handler`,
      );
    }
    const pending = write(req, res, response);
    if (pending !== undefined) pending.catch((error) => failed(res, error));
  } catch (error) {
    failed(res, error);
  }
}

/** A response of `_fast_response.ts` that nothing read: its parts go out as they are. */
function sendRecorded(req: IncomingMessage, res: ServerResponse, parts: RecordedResponse): void {
  if (res.destroyed) return;
  const { status, body } = parts;
  const head = parts.head;
  const bodiless = status < 200 || status === 204 || status === 304;
  if (!bodiless) setLength(head, byteLength(body));
  end(res, status, parts.statusText, head, bodiless || req.method === "HEAD" ? null : body);
}

function failed(res: ServerResponse, error: unknown): void {
  console.error("[@x/cluster] request handler failed:", error);
  if (res.destroyed) return;
  if (!res.headersSent) {
    res.writeHead(500, { "content-type": "text/plain", "content-length": "21" })
      .end("Internal Server Error");
  } else {
    res.destroy(error as Error);
  }
}

/** Writes head and body; returns a promise only while a body is being read. */
function write(
  req: IncomingMessage,
  res: ServerResponse,
  response: Response,
): Promise<void> | undefined {
  // The client went away while the handler ran: nothing to write to.
  if (res.destroyed) return void response.body?.cancel().catch(() => {});
  const status = response.status;
  const head: string[] = [];
  let typed = false;
  // forEach yields each Set-Cookie on its own on all three runtimes, so no getSetCookie(); it
  // is cheaper than for…of on Deno (measured 0.7–1.8 µs against 1.4–4.4 µs per response).
  response.headers.forEach((value, name) => {
    head.push(name, value);
    if (name === "content-type") typed = true;
  });
  if (!typed) addType(head, response);
  const bodiless = status < 200 || status === 204 || status === 304;
  const headOnly = bodiless || req.method === "HEAD";
  let body = staticBody(response);
  if (body === undefined) {
    // Not told by the runtime: the public path. A null body is known without reading it.
    const stream = response.body;
    if (stream !== null) return readBody(res, status, response.statusText, head, stream, headOnly);
    body = null;
  }
  // HEAD states the length of the body it does not send.
  if (!bodiless) setLength(head, byteLength(body));
  end(res, status, response.statusText, head, headOnly ? null : body);
}

// Bun has answered a body's implied content-type from get() without listing it in iteration.
// Elsewhere iteration had it already, or there is none. (Bun 1.4.5 shows a string body's
// text/plain in neither, so such a response goes out without one: a Bun bug, Bun.serve sends it.)
function addType(head: string[], response: Response): void {
  const type = response.headers.get("content-type");
  if (type !== null) head.push("content-type", type);
}

/**
 * Frames a body we send whole with its real length: a Content-Length or Transfer-Encoding of the
 * handler's own goes, since two framings (or two lengths) make clients refuse the response
 * (RFC 9112 §6.3; Node's fetch() and http.get() both do).
 */
function setLength(head: string[], length: number): void {
  for (let i = head.length - 2; i >= 0; i -= 2) {
    const name = head[i];
    if (name === "content-length" || name === "transfer-encoding") head.splice(i, 2);
  }
  head.push("content-length", String(length));
}

function byteLength(body: StaticBody | null): number {
  if (body === null) return 0;
  return typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
}

/** Ends the response with head and body in one write. */
function end(
  res: ServerResponse,
  status: number,
  statusText: string,
  head: string[],
  body: StaticBody | null,
): undefined {
  writeHead(res, status, statusText, head);
  if (body === null) return void res.end();
  if (typeof body === "string" || !ONE_WRITE || body.byteLength > ONE_WRITE_MAX) {
    return void res.end(body);
  }
  // node:http writes its head and a string body as one string (one write); bytes go out
  // corked after it, through writev. As latin1 every byte stays itself.
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("latin1");
  res.end(text, "latin1");
}

/**
 * Bytes bodies up to this size are written with the head in one string write (see `end`):
 * a hello-world body read from `new Response()`'s stream is bytes on every runtime but Deno.
 */
const ONE_WRITE_MAX = 16 * 1024;
/**
 * Node only: its server CPU per hello-world request fell 3-12 % (3 interleaved wrk runs on a
 * loaded box); on Bun (its own http) the figures went both ways, so Bun keeps the bytes.
 */
const ONE_WRITE = !("Bun" in globalThis) && !("Deno" in globalThis);

function writeHead(res: ServerResponse, status: number, statusText: string, head: string[]): void {
  // An empty reason would go out as "HTTP/1.1 200 " instead of the standard "OK".
  if (statusText) res.writeHead(status, statusText, head);
  else res.writeHead(status, head);
}

/**
 * The public path: reads the stream. A body that ends right after its first chunk (the common
 * case) still goes out in one write with Content-Length; anything longer is streamed with
 * back-pressure. We wait for the end only a few microtask turns after the first chunk, so that a
 * stream that sends one event and then waits (server-sent events) is not held back.
 */
async function readBody(
  res: ServerResponse,
  status: number,
  statusText: string,
  head: string[],
  stream: ReadableStream<Uint8Array>,
  headOnly: boolean,
): Promise<void> {
  const reader = stream.getReader();
  const first = await reader.read();
  if (first.done) {
    setLength(head, 0);
    return end(res, status, statusText, head, null);
  }
  let next: ReadResult | undefined;
  const second = reader.read();
  second.then((result) => next = result, () => {});
  // Measured: a string or bytes body ends 1 microtask turn after its chunk on Node and Deno, 2 on
  // Bun (a Blob: 5 on Deno, only after I/O on Node).
  for (let turn = 0; turn < 4 && next === undefined; turn++) await undefined;
  if (res.destroyed) return void reader.cancel().catch(() => {});
  if (next !== undefined && next.done) {
    setLength(head, byteLength(first.value));
    return end(res, status, statusText, head, headOnly ? null : first.value);
  }
  if (headOnly) {
    // The GET response would be chunked (unless the handler stated its length, which then
    // stands alone: both framings make clients refuse it); saying so keeps the connection alive.
    reader.cancel().catch(() => {});
    if (!hasName(head, "content-length") && !hasName(head, "transfer-encoding")) {
      head.push("transfer-encoding", "chunked");
    }
    return end(res, status, statusText, head, null);
  }
  writeHead(res, status, statusText, head);
  await pipe(res, reader, first.value, second);
}

/** Streams the rest of the body with back-pressure; cancels the stream if the client goes away. */
async function pipe(
  res: ServerResponse,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  first: Uint8Array,
  second: Promise<ReadResult>,
): Promise<void> {
  const cancel = () => {
    if (!res.writableFinished) reader.cancel().catch(() => {});
  };
  res.once("close", cancel);
  try {
    let chunk: ReadResult = { done: false, value: first };
    let pending: Promise<ReadResult> | undefined = second;
    while (!chunk.done) {
      if (res.destroyed) return;
      if (!res.write(chunk.value) && !(await drained(res))) return;
      chunk = await (pending ?? reader.read());
      pending = undefined;
    }
    res.end();
  } finally {
    res.off("close", cancel);
  }
}

/** Waits for `drain`; false if the response closed instead. */
function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = () => {
      res.off("drain", finish);
      res.off("close", finish);
      resolve(!res.destroyed);
    };
    res.on("drain", finish);
    res.on("close", finish);
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "an object";
}
