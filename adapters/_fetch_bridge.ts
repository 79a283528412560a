// Runs a fetch-style handler (Request → Response) inside a node:http server: the bridge used
// where the primary hands connections over (a node:http server is the one server every runtime
// can feed with sockets). Method, headers, streaming request and response bodies, status.

import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { FetchHandler } from "../src/types.ts";

/** Wraps `handler` as a node:http request listener. */
export function fetchListener(
  handler: FetchHandler,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    respond(handler, req, res).catch((error) => {
      console.error("[@x/cluster] request handler failed:", error);
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" }).end("Internal Server Error");
      } else {
        res.destroy(error as Error);
      }
    });
  };
}

async function respond(handler: FetchHandler, req: IncomingMessage, res: ServerResponse) {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  const host = req.headers.host ?? "localhost";
  const request = new Request(`http://${host}${req.url ?? "/"}`, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>) : null,
    signal: controller.signal,
    // @ts-ignore: `duplex` is required by fetch implementations for streaming bodies.
    duplex: "half",
  });
  const response = await handler(request);
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") out[name] = value;
  });
  // Bun adds a body's implied content-type to get() but not to iteration.
  const type = out["content-type"] ?? response.headers.get("content-type");
  if (type) out["content-type"] = type;
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) out["set-cookie"] = cookies;
  if (!response.body || method === "HEAD") {
    res.writeHead(response.status, response.statusText || undefined, out).end();
    return;
  }
  const reader = response.body.getReader();
  try {
    // A body that arrives in one chunk (the common case) goes out with Content-Length.
    const first = await reader.read();
    const second = first.done ? first : await reader.read();
    if (second.done) {
      const body = first.value ?? new Uint8Array(0);
      out["content-length"] = String(body.byteLength);
      res.writeHead(response.status, response.statusText || undefined, out).end(body);
      return;
    }
    res.writeHead(response.status, response.statusText || undefined, out);
    let chunk = first;
    while (!chunk.done) {
      if (!res.write(chunk.value) && !(await drained(res))) {
        await reader.cancel();
        return;
      }
      chunk = chunk === first ? second : await reader.read();
    }
    res.end();
  } finally {
    reader.releaseLock();
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
