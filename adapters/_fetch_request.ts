// A `Request` view of a node:http request that builds nothing until the handler reads it. On
// Node 24 a real `new Request(url, { method, headers, signal })` costs about as much CPU as the
// whole raw node:http request (URL parsing, header copies, undici's signal linking), and most
// handlers read two or three properties. So the object below inherits from `Request.prototype`
// (`instanceof Request` holds), answers `method`, `url`, `headers`, `signal` and `duplex` itself,
// and everything else — `body`, `bodyUsed`, `text()`/`json()`/`formData()`/…, `clone()`,
// `cache`, `mode`, inspection — from one real `Request` it builds on first use.
//
// Limit: it is not a native `Request` object, so `fetch(request)` and `new Request(request)` (the
// request as the first argument) throw on every runtime; `fetch(url, request)`,
// `new Request(url, request)` and `fetch(request.clone())` work, since `clone()` returns a native
// `Request`.

import type { IncomingMessage, ServerResponse } from "node:http";
import { builtin } from "./_builtins.ts";

/** Builds the real `Request` behind a lazy one (set by the class's static block). */
let realRequestOf: (request: Request) => Request;

const NativeRequest = globalThis.Request;
// Node's Request answers `duplex` ("half"); Bun's has no such property, so neither do we there.
const HAS_DUPLEX = "duplex" in NativeRequest.prototype;

/**
 * A lazily built `Request` for a node:http request/response pair.
 *
 * @example Wrapping a node:http request
 * ```ts
 * import http from "node:http";
 * import { lazyRequest } from "./_fetch_request.ts";
 *
 * http.createServer((req, res) => {
 *   const request = lazyRequest(req, res);
 *   res.end(`${request.method} ${new URL(request.url).pathname}`);
 * });
 * ```
 */
export function lazyRequest(req: IncomingMessage, res: ServerResponse): Request {
  return new LazyRequest(req, res) as unknown as Request;
}

class LazyRequest {
  #req: IncomingMessage;
  #res: ServerResponse;
  #url: string | undefined = undefined;
  #headers: Headers | undefined = undefined;
  #controller: AbortController | undefined = undefined;
  #real: Request | undefined = undefined;

  static {
    realRequestOf = (request) => (request as unknown as LazyRequest).#materialize();
  }

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.#req = req;
    this.#res = res;
  }

  get method(): string {
    // llhttp accepts only known methods and gives them upper-cased: what Request normalizes to.
    return this.#req.method ?? "GET";
  }

  get url(): string {
    return (this.#url ??= requestUrl(this.#req));
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      // Appending the raw list keeps repeated headers (node:http's `req.headers` drops or joins
      // some of them).
      const headers = new Headers();
      const raw = this.#req.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
      this.#headers = headers;
    }
    return this.#headers;
  }

  get signal(): AbortSignal {
    return (this.#controller ??= abortOnClose(this.#res)).signal;
  }

  get duplex(): "half" | undefined {
    return HAS_DUPLEX ? "half" : undefined;
  }

  get bodyUsed(): boolean {
    return this.#real !== undefined && this.#real.bodyUsed;
  }

  #materialize(): Request {
    if (this.#real === undefined) {
      const req = this.#req;
      const body = hasBody(req)
        ? (builtin("node:stream").Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>)
        : null;
      this.#real = new NativeRequest(this.url, {
        method: this.method,
        // A copy: our own Headers object stays the one `headers` returns.
        headers: this.headers,
        body,
        signal: this.signal,
        // @ts-ignore: `duplex` is required by fetch implementations for streaming bodies.
        duplex: "half",
      });
    }
    return this.#real;
  }
}

if (!HAS_DUPLEX) delete (LazyRequest.prototype as { duplex?: unknown }).duplex;

// Everything else Request.prototype has (getters such as `body`, `cache`, `mode`; methods such as
// `text`, `clone`; the runtime's inspection hook) runs on the real Request. Built from the
// runtime's own prototype so that each runtime gets exactly its own set.
for (const key of Reflect.ownKeys(NativeRequest.prototype)) {
  if (key === "constructor" || Object.hasOwn(LazyRequest.prototype, key)) continue;
  const native = Object.getOwnPropertyDescriptor(NativeRequest.prototype, key)!;
  if (native.get) {
    const get = native.get;
    Object.defineProperty(LazyRequest.prototype, key, {
      get(this: Request) {
        return get.call(realRequestOf(this));
      },
      enumerable: native.enumerable,
      configurable: true,
    });
  } else if (typeof native.value === "function") {
    const method = native.value as (...args: unknown[]) => unknown;
    Object.defineProperty(LazyRequest.prototype, key, {
      value: function (this: Request, ...args: unknown[]) {
        return method.apply(realRequestOf(this), args);
      },
      writable: true,
      enumerable: native.enumerable,
      configurable: true,
    });
  }
}
Object.setPrototypeOf(LazyRequest.prototype, NativeRequest.prototype);

/** The absolute URL of a request, serialized as `Request.url` would be. */
function requestUrl(req: IncomingMessage): string {
  const path = req.url ?? "/";
  // An absolute-form target (a proxy request) names its own origin.
  if (path[0] !== "/" && /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return new URL(path).href;
  const scheme = (req.socket as { encrypted?: boolean } | null)?.encrypted ? "https" : "http";
  return new URL(`${scheme}://${hostOf(req.rawHeaders)}${path[0] === "/" ? "" : "/"}${path}`)
    .href;
}

/** The Host header from the raw list, without building node:http's `req.headers` object. */
function hostOf(raw: string[]): string {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && name.toLowerCase() === "host") return raw[i + 1];
  }
  // HTTP/1.0 clients may send none.
  return "localhost";
}

/** Whether the request has a body: a Content-Length above 0 or a Transfer-Encoding. */
function hasBody(req: IncomingMessage): boolean {
  if (req.method === "GET" || req.method === "HEAD") return false;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === "transfer-encoding") return true;
    if (name === "content-length") return Number(raw[i + 1]) > 0;
  }
  return false;
}

/** An AbortController aborted when the response closes before it was finished. */
function abortOnClose(res: ServerResponse): AbortController {
  const controller = new AbortController();
  if (res.writableFinished) return controller;
  // The signal may be read only after the client went away.
  if (res.closed || res.socket?.destroyed) {
    controller.abort();
    return controller;
  }
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller;
}
