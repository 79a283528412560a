// The fetch bridge (adapters/_fetch_bridge.ts) on a real node:http server on 127.0.0.1, driven by
// real clients: fetch() and raw node:net sockets (exact bytes, pipelining, HEAD).

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import { fetchListener } from "../adapters/_fetch_bridge.ts";
import type { FetchHandler } from "../src/types.ts";
import { deferred } from "./_promises.ts";

/** Runs `body` against a node:http server that serves `handler` through the bridge. */
async function withServer(
  handler: FetchHandler,
  body: (port: number, base: string) => Promise<void>,
): Promise<void> {
  const server = http.createServer(fetchListener(handler));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await body(port, `http://127.0.0.1:${port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Rejects after `ms` with what we were waiting for. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

interface RawResponse {
  status: number;
  statusText: string;
  /** Header lines as sent, names lower-cased. */
  headers: [string, string][];
  body: Buffer;
}

function header(response: RawResponse, name: string): string | undefined {
  return response.headers.find(([n]) => n === name)?.[1];
}

/**
 * Parses as many whole responses as `buffer` holds. `methods` says which requests were HEAD
 * (their responses have no body whatever the headers say).
 */
function parseResponses(buffer: Buffer, methods: string[]): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (out.length < methods.length) {
    const headEnd = buffer.indexOf("\r\n\r\n", at);
    if (headEnd < 0) break;
    const lines = buffer.subarray(at, headEnd).toString("latin1").split("\r\n");
    const [, code, ...reason] = lines[0].split(" ");
    const headers = lines.slice(1).map((line): [string, string] => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    });
    const response: RawResponse = {
      status: Number(code),
      statusText: reason.join(" "),
      headers,
      body: Buffer.alloc(0),
    };
    let next = headEnd + 4;
    const length = header(response, "content-length");
    if (methods[out.length] === "HEAD" || response.status === 204 || response.status === 304) {
      // no body
    } else if (length !== undefined) {
      if (buffer.length < next + Number(length)) break;
      response.body = buffer.subarray(next, next + Number(length));
      next += Number(length);
    } else if (header(response, "transfer-encoding") === "chunked") {
      const parts: Buffer[] = [];
      let complete = false;
      for (;;) {
        const lineEnd = buffer.indexOf("\r\n", next);
        if (lineEnd < 0) break;
        const size = parseInt(buffer.subarray(next, lineEnd).toString("latin1"), 16);
        if (buffer.length < lineEnd + 2 + size + 2) break;
        parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        next = lineEnd + 2 + size + 2;
        if (size === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) break;
      response.body = Buffer.concat(parts);
    } else {
      throw new Error(`Response without length: ${lines.join(" | ")}`);
    }
    out.push(response);
    at = next;
  }
  return out;
}

/** Sends `requests` on one connection in one write (pipelined) and reads every response. */
function raw(port: number, requests: string[]): Promise<RawResponse[]> {
  const methods = requests.map((r) => r.slice(0, r.indexOf(" ")));
  const socket = net.connect(port, "127.0.0.1");
  const done = new Promise<RawResponse[]>((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    socket.on("data", (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      const responses = parseResponses(buffer, methods);
      if (responses.length === methods.length) resolve(responses);
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`Connection closed: ${buffer.toString("latin1")}`)));
  });
  socket.write(requests.join(""));
  return within(done, 10_000, "raw responses").finally(() => socket.destroy());
}

const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

test("the handler gets a Request with method, url, query and headers, repeated ones kept", async () => {
  let seen: Request | undefined;
  await withServer((request) => {
    seen = request;
    return Response.json({
      method: request.method,
      url: request.url,
      query: new URL(request.url).searchParams.getAll("q"),
      a: request.headers.get("x-a"),
      cookie: request.headers.get("cookie"),
      host: request.headers.get("host"),
      body: request.body,
    });
  }, async (port) => {
    const [response] = await raw(port, [
      "DELETE /p/../x%20y?q=1&q=2 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nX-A: 1\r\nx-a: 2\r\nCookie: a=1\r\n\r\n",
    ]);
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body.toString()), {
      method: "DELETE",
      url: "http://127.0.0.1:9/x%20y?q=1&q=2",
      query: ["1", "2"],
      a: "1, 2",
      cookie: "a=1",
      host: "127.0.0.1:9",
      body: null,
    });
  });
  assert.ok(seen instanceof Request);
  assert.equal(Object.prototype.toString.call(seen), "[object Request]");
});

test("every other Request property answers as a native Request's does", async () => {
  let props: Record<string, unknown> | undefined;
  let native: Record<string, unknown> | undefined;
  await withServer((request) => {
    const twin = new Request(request.url, { method: request.method, headers: request.headers });
    props = {};
    native = {};
    for (const key of Object.getOwnPropertyNames(Request.prototype)) {
      const value = (twin as unknown as Record<string, unknown>)[key];
      if (typeof value === "object" || typeof value === "function") continue;
      props[key] = (request as unknown as Record<string, unknown>)[key];
      native[key] = value;
    }
    return new Response("ok");
  }, async (port) => {
    await raw(port, [get("/props")]);
  });
  assert.ok(
    native && Object.keys(native).length >= 8,
    `few scalar properties: ${JSON.stringify(native)}`,
  );
  assert.deepEqual(props, native);
});

test("a request without Host gets localhost; an absolute-form target keeps its origin", async () => {
  const urls: string[] = [];
  await withServer((request) => {
    urls.push(request.url);
    return new Response("ok");
  }, async (port) => {
    await raw(port, [
      "GET /a HTTP/1.0\r\n\r\n",
    ]);
    await raw(port, ["GET http://example.test:81/b?c HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"]);
  });
  assert.deepEqual(urls, ["http://localhost/a", "http://example.test:81/b?c"]);
});

test("POST bodies: text(), json(), formData() and bodyUsed", async () => {
  await withServer(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/text") {
      const text = await request.text();
      const again = await request.text().then(() => "read twice", (e) => e.constructor.name);
      return Response.json({ text, used: request.bodyUsed, again });
    }
    if (path === "/json") return Response.json({ json: await request.json() });
    const form = await request.formData();
    const file = form.get("f") as File;
    return Response.json({ a: form.getAll("a"), file: file && [file.name, await file.text()] });
  }, async (_port, base) => {
    const text = await (await fetch(`${base}/text`, { method: "POST", body: "héllo" })).json();
    assert.deepEqual(text, { text: "héllo", used: true, again: "TypeError" });
    const json = await fetch(`${base}/json`, {
      method: "PUT",
      body: JSON.stringify({ x: [1, 2] }),
    });
    assert.deepEqual(await json.json(), { json: { x: [1, 2] } });
    const encoded = await fetch(`${base}/form`, {
      method: "POST",
      body: new URLSearchParams("a=1&a=2"),
    });
    assert.deepEqual(await encoded.json(), { a: ["1", "2"], file: null });
    const form = new FormData();
    form.append("a", "x");
    form.append("f", new Blob(["file body"]), "f.txt");
    const multipart = await fetch(`${base}/form`, { method: "POST", body: form });
    assert.deepEqual(await multipart.json(), { a: ["x"], file: ["f.txt", "file body"] });
  });
});

test("a large streamed POST body arrives whole through request.body", async () => {
  const size = 16 * 1024 * 1024;
  await withServer(async (request) => {
    let bytes = 0;
    const hash = createHash("sha256");
    for await (const chunk of request.body!) {
      bytes += chunk.byteLength;
      hash.update(chunk);
    }
    return Response.json({ bytes, sum: hash.digest("hex") });
  }, async (_port, base) => {
    const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251);
    let sent = 0;
    const hash = createHash("sha256");
    for (let at = 0; at < size; at += chunk.length) hash.update(chunk);
    const expected = hash.digest("hex");
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk.slice());
      },
    });
    // @ts-ignore: `duplex` is needed by fetch for a streamed request body.
    const response = await fetch(`${base}/upload`, { method: "POST", body, duplex: "half" });
    assert.deepEqual(await response.json(), { bytes: size, sum: expected });
  });
});

test("clone() gives a native Request with the same body", async () => {
  await withServer(async (request) => {
    const copy = request.clone();
    // A native Request: it can be the input of new Request() (and of fetch()).
    const rebuilt = new Request(request.clone());
    return Response.json({
      copy: await copy.text(),
      rebuilt: [rebuilt.url === request.url, rebuilt.method, await rebuilt.text()],
      original: await request.text(),
      instance: copy instanceof Request,
    });
  }, async (_port, base) => {
    const response = await fetch(`${base}/c`, { method: "POST", body: "twice" });
    assert.deepEqual(await response.json(), {
      copy: "twice",
      rebuilt: [true, "POST", "twice"],
      original: "twice",
      instance: true,
    });
  });
});

test("a bytes body arrives byte for byte, every value 0-255 (written with the head in one write)", async () => {
  const bytes = new Uint8Array(512).map((_, i) => i % 256);
  await withServer(() => new Response(bytes), async (port) => {
    const [response] = await raw(port, [get("/")]);
    assert.equal(header(response, "content-length"), "512");
    assert.deepEqual([...response.body], [...bytes]);
  });
});

test("Content-Length is the byte length of string, bytes and ArrayBuffer bodies", async () => {
  const bodies: Record<string, () => Response> = {
    "/utf8": () => new Response("héllo ✓"),
    "/bytes": () => new Response(new Uint8Array([1, 2, 3])),
    "/buffer": () => new Response(new ArrayBuffer(7)),
    "/empty": () => new Response(""),
    "/null": () => new Response(null),
    "/json": () => Response.json({ a: "é" }),
    "/204": () => new Response(null, { status: 204 }),
    "/blob": () => new Response(new Blob(["blob!"])),
  };
  await withServer((request) => bodies[new URL(request.url).pathname](), async (port) => {
    const paths = Object.keys(bodies);
    const responses = await raw(port, paths.map((path) => get(path)));
    const lengths = Object.fromEntries(
      responses.map((r, i) => [paths[i], [header(r, "content-length"), r.body.length]]),
    );
    assert.deepEqual(lengths, {
      "/utf8": ["10", 10],
      "/bytes": ["3", 3],
      "/buffer": ["7", 7],
      "/empty": ["0", 0],
      "/null": ["0", 0],
      "/json": ["10", 10],
      "/204": [undefined, 0],
      // A Blob body is streamed (chunked) by Node, sent whole elsewhere: either is right.
      "/blob": [header(responses[7], "transfer-encoding") === "chunked" ? undefined : "5", 5],
    });
    assert.equal(responses[0].body.toString(), "héllo ✓");
    // The type the runtime's own Response states (Bun 1.4.5 states none for a string body).
    assert.equal(
      header(responses[0], "content-type"),
      new Response("").headers.get("content-type") ?? undefined,
    );
    assert.equal(
      header(responses[5], "content-type"),
      Response.json(0).headers.get("content-type"),
    );
    assert.equal(responses[6].status, 204);
  });
});

test("status text, two Set-Cookie headers and a handler's headers go out as given", async () => {
  await withServer(() =>
    new Response("made", {
      status: 201,
      statusText: "Made Here",
      headers: [["set-cookie", "a=1; Path=/"], ["set-cookie", "b=2"], ["x-b", "y"], [
        "content-type",
        "text/x",
      ]],
    }), async (port) => {
    const [response] = await raw(port, [get("/")]);
    assert.equal(response.status, 201);
    assert.equal(response.statusText, "Made Here");
    assert.deepEqual(response.headers.filter(([n]) => n === "set-cookie").map(([, v]) => v), [
      "a=1; Path=/",
      "b=2",
    ]);
    assert.equal(header(response, "x-b"), "y");
    assert.equal(header(response, "content-type"), "text/x");
    assert.equal(response.body.toString(), "made");
  });
  await withServer(() => new Response("ok"), async (port) => {
    const [response] = await raw(port, [get("/")]);
    assert.equal(`${response.status} ${response.statusText}`, "200 OK");
  });
});

test("HEAD gets the headers and length without a body; the connection stays usable", async () => {
  await withServer((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/stream") {
      return new Response(
        new ReadableStream({
          async pull(controller) {
            controller.enqueue(new TextEncoder().encode("part"));
            await new Promise((resolve) => setTimeout(resolve, 5));
          },
        }),
      );
    }
    return new Response("hello", { headers: { "x-m": request.method } });
  }, async (port) => {
    const responses = await raw(port, [
      "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "HEAD /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      get("/"),
    ]);
    assert.deepEqual(
      responses.map((r) => [r.status, header(r, "x-m") ?? null, r.body.toString()]),
      [
        [200, "HEAD", ""],
        [200, null, ""],
        [200, "GET", "hello"],
      ],
    );
    assert.equal(header(responses[0], "content-length"), "5");
    assert.notEqual(header(responses[1], "connection"), "close");
  });
});

test("one framing: a handler's own Content-Length on a static body and on a stream", async () => {
  const parts = ["ab", "cd"];
  await withServer((request) => {
    if (new URL(request.url).pathname === "/static") {
      return new Response("four", { headers: { "content-length": "9" } });
    }
    let i = 0;
    const body = new ReadableStream({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (i < parts.length) controller.enqueue(new TextEncoder().encode(parts[i++]));
        else controller.close();
      },
    });
    return new Response(body, { headers: { "content-length": "4" } });
  }, async (port, base) => {
    const responses = await raw(port, [
      "HEAD /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "HEAD /static HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ]);
    for (const response of responses) {
      const lengths = response.headers.filter(([n]) => n === "content-length");
      assert.equal(lengths.length, 1, JSON.stringify(response.headers));
      assert.equal(header(response, "transfer-encoding"), undefined);
    }
    // Clients that refuse two framings read these.
    assert.equal(await (await fetch(`${base}/static`)).text(), "four");
    assert.equal(await (await fetch(`${base}/stream`)).text(), "abcd");
    assert.equal((await fetch(`${base}/stream`, { method: "HEAD" })).status, 200);
  });
});

test("keep-alive: several requests on one connection, none of their signals aborted", async () => {
  const signals: AbortSignal[] = [];
  await withServer((request) => {
    signals.push(request.signal);
    return new Response(new URL(request.url).pathname);
  }, async (port) => {
    const socket = net.connect(port, "127.0.0.1");
    try {
      let buffer = Buffer.alloc(0);
      const bodies: string[] = [];
      for (const path of ["/1", "/2", "/3"]) {
        const got = deferred<void>();
        const onData = (data: Buffer) => {
          buffer = Buffer.concat([buffer, data]);
          const [response] = parseResponses(buffer, ["GET"]);
          if (!response) return;
          bodies.push(response.body.toString());
          assert.notEqual(header(response, "connection"), "close");
          buffer = Buffer.alloc(0);
          socket.off("data", onData);
          got.resolve();
        };
        socket.on("data", onData);
        socket.write(get(path));
        await within(got.promise, 5000, `response to ${path}`);
      }
      assert.deepEqual(bodies, ["/1", "/2", "/3"]);
    } finally {
      socket.destroy();
    }
  });
  assert.equal(signals.length, 3);
  assert.deepEqual(signals.map((s) => s.aborted), [false, false, false]);
});

test("a client that goes away aborts request.signal, read before or after it left", async () => {
  const early = deferred<string>();
  const late = deferred<boolean>();
  const left = deferred<void>();
  await withServer(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/early") {
      const signal = request.signal;
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      early.resolve(`aborted: ${signal.aborted}`);
      return new Response("too late");
    }
    await left.promise;
    await new Promise((resolve) => setTimeout(resolve, 100));
    late.resolve(request.signal.aborted);
    return new Response("too late");
  }, async (port) => {
    for (const path of ["/early", "/late"]) {
      const socket = net.connect(port, "127.0.0.1");
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write(get(path));
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
    }
    left.resolve();
    assert.equal(await within(early.promise, 5000, "the abort event"), "aborted: true");
    assert.equal(await within(late.promise, 5000, "the late signal"), true);
  });
});

test("a streamed response is sent as it comes, with back-pressure, and cancelled on disconnect", async () => {
  const chunk = new Uint8Array(64 * 1024).fill(97);
  const total = 64 * 1024 * 1024;
  let pulled = 0;
  const cancelled = deferred<void>();
  const second = deferred<void>();
  await withServer((request) => {
    if (new URL(request.url).pathname === "/events") {
      // One event, then a wait: the first must reach the client before the second exists.
      return new Response(
        new ReadableStream({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode("event 1\n"));
            await second.promise;
            controller.enqueue(new TextEncoder().encode("event 2\n"));
            controller.close();
          },
        }),
      );
    }
    return new Response(
      new ReadableStream({
        pull(controller) {
          if (pulled >= total) return controller.close();
          pulled += chunk.length;
          controller.enqueue(chunk);
        },
        cancel() {
          cancelled.resolve();
        },
      }),
    );
  }, async (port) => {
    // Server-sent-events style: the first event arrives alone.
    const events = net.connect(port, "127.0.0.1");
    try {
      const first = deferred<string>();
      let text = "";
      events.on("data", (data: Buffer) => {
        text += data.toString("latin1");
        if (text.includes("event 1")) first.resolve(text);
      });
      events.write(get("/events"));
      const got = await within(first.promise, 5000, "the first event");
      assert.match(got, /transfer-encoding: chunked/i);
      assert.doesNotMatch(got, /event 2/);
      second.resolve();
    } finally {
      events.destroy();
    }

    // A client that reads nothing: the server must stop pulling once the socket is full.
    const slow = net.connect(port, "127.0.0.1");
    try {
      await new Promise((resolve) => slow.once("connect", resolve));
      slow.pause();
      slow.write(get("/big"));
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.ok(pulled > 0, "the stream was never read");
      assert.ok(
        pulled < total / 4,
        `pulled ${pulled} of ${total} bytes for a client that read none`,
      );
      const stalled = pulled;
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(pulled - stalled <= 2 * chunk.length, `kept pulling: ${stalled} → ${pulled}`);
    } finally {
      slow.destroy();
    }
    await within(cancelled.promise, 5000, "the stream's cancel()");
    assert.ok(pulled < total);
  });
});

test("a whole streamed response arrives intact", async () => {
  const parts = 200;
  await withServer(() => {
    let i = 0;
    return new Response(
      new ReadableStream({
        async pull(controller) {
          if (i === parts) return controller.close();
          controller.enqueue(new TextEncoder().encode(`${i++},`));
          if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        },
      }),
    );
  }, async (_port, base) => {
    const text = await (await fetch(`${base}/s`)).text();
    assert.equal(text, Array.from({ length: parts }, (_, i) => `${i},`).join(""));
  });
});

test("a handler that throws, rejects or returns no Response answers 500 and logs why", async () => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    await withServer((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/throw") throw new Error("thrown");
      if (path === "/reject") return Promise.reject(new Error("rejected"));
      if (path === "/stream") {
        return new Response(
          new ReadableStream({
            pull(controller) {
              controller.error(new Error("stream failed"));
            },
          }),
        );
      }
      return "not a response" as unknown as Response;
    }, async (port) => {
      const responses = await raw(port, ["/throw", "/reject", "/wrong"].map((p) => get(p)));
      assert.deepEqual(responses.map((r) => [r.status, r.body.toString()]), [
        [500, "Internal Server Error"],
        [500, "Internal Server Error"],
        [500, "Internal Server Error"],
      ]);
      const [stream] = await raw(port, [get("/stream")]);
      assert.equal(stream.status, 500);
    });
  } finally {
    console.error = original;
  }
  const messages = logged.map((args) => String(args[1]));
  assert.equal(messages.length, 4);
  assert.match(messages[0], /thrown/);
  assert.match(messages[1], /rejected/);
  assert.match(messages[2], /expected a Response, got string/);
  assert.match(messages[3], /stream failed/);
});
