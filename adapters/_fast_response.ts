// A `Response` that keeps what it was made from and builds the runtime's own Response only when
// something reads more than the fetch bridge needs. On Node, undici's `new Response("hello")`
// builds a ReadableStream for the body (TextEncoder, stream state, controller) and the bridge
// must then read it back through two promises: measured on Node 24.21 (one node:http server,
// wrk -t1 -c64, hello world, interleaved runs on an idle box) the bridge served 15–25k req/s
// with undici's Response and 34–55k with a recorded one, against 46–51k for a raw node:http
// handler. @hono/node-server replaces the global `Response` for the same reason (its
// `overrideGlobalObjects`, on by default); srvx offers a `FastResponse` to opt into.
//
// While a worker serves on Node (serve() with `fastResponse`, the default) `globalThis.Response`
// is this class. What stays true for user code:
// - `new Response(body, init)` checks its arguments as the runtime's does: anything but a plain
//   string/bytes/null body with a plain init is handed to the runtime's constructor at once
//   (same errors, same behaviour), and so is any value the quick checks below are unsure of.
// - `instanceof Response` holds for ours and for the runtime's own (fetch() results,
//   Response.error()); ours are also `instanceof` the runtime's class; subclasses work.
// - `status`, `ok`, `statusText`, `type`, `url`, `redirected`, `headers` are answered without
//   building anything (`headers` builds a Headers object once, and the bridge writes what it
//   holds then); `body`, `bodyUsed`, `text()`, `json()`, `clone()`… run on the runtime's own
//   Response, built on first use from the recorded arguments.
// Limit: native APIs that take a Response (`WebAssembly.compileStreaming`) need the runtime's
// own object: `serve({ fastResponse: false })` keeps the global untouched.

/** The runtime's own class, as it was before anything replaced the global. */
const Native: typeof Response = globalThis.Response;

/** What the bridge writes for a recorded response. */
export interface RecordedResponse {
  status: number;
  /** `""` when none was given (the server then sends the standard reason phrase). */
  statusText: string;
  /** Header names (lower-case) and values, alternating, as node:http's `writeHead` takes them. */
  head: string[];
  body: string | Uint8Array | null;
}

/** Reads a response's recorded parts (set by the class's static block). */
let recordOf: (response: Response) => RecordedResponse | undefined;
/** The runtime's own Response behind one of ours, built on first use (set by the static block). */
let nativeOf: (response: FastResponse) => Response;

// RFC 9110 token characters: what Headers accepts as a name.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Values Headers would change (leading/trailing whitespace) or refuse (NUL, CR, LF, > U+00FF):
// such a header goes to the runtime's constructor, which normalizes or throws as it does.
const UNSURE_VALUE = /^[\t ]|[\t ]$|[\0\r\n\u0100-\uffff]/;
// The reason-phrase characters Response accepts.
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * A `Response` that records its arguments (see the file's header).
 *
 * @example Answering a request with it
 * ```ts ignore
 * import { FastResponse } from "./_fast_response.ts";
 * const response = new FastResponse("hello", { headers: { "x-a": "1" } });
 * console.log(response.status, response.headers.get("content-type")); // 200 text/plain;charset=UTF-8
 * ```
 */
export class FastResponse {
  #status = 200;
  #statusText = "";
  #head: string[] | undefined = undefined;
  #body: string | Uint8Array | null = null;
  #headers: Headers | undefined = undefined;
  #native: Response | undefined = undefined;

  static {
    nativeOf = (response) => response.#materialize();
    recordOf = (response) => {
      if (!(#native in response) || response.#native !== undefined) return undefined;
      const head = response.#headers === undefined ? response.#head! : headList(response.#headers);
      return {
        status: response.#status,
        statusText: response.#statusText,
        head,
        body: response.#body,
      };
    };
  }

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    const head = recordable(body, init);
    if (head === undefined) {
      this.#native = new Native(body, init);
      return;
    }
    if (init?.status !== undefined) this.#status = init.status;
    if (init?.statusText !== undefined) this.#statusText = init.statusText;
    if (typeof body === "string") {
      this.#body = body;
      if (!hasName(head, "content-type")) head.push("content-type", "text/plain;charset=UTF-8");
    } else if (body instanceof ArrayBuffer) {
      this.#body = new Uint8Array(body.slice(0));
    } else if (body instanceof Uint8Array) {
      // The runtime's Response copies a buffer it is given; so do we.
      this.#body = (body as Uint8Array).slice();
    }
    this.#head = head;
  }

  /** Like the runtime's `Response.json()`, recorded when `init` is plain. */
  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data);
    if (text === undefined || (init !== undefined && recordable(null, init) === undefined)) {
      return Native.json(data, init);
    }
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const typed = Object.keys(headers).some((name) => name.toLowerCase() === "content-type");
    return new FastResponse(text, {
      ...init,
      headers: typed ? headers : { ...headers, "content-type": "application/json" },
    }) as unknown as Response;
  }

  /** The runtime's own `Response.error()`. */
  static error(): Response {
    return Native.error();
  }

  /** The runtime's own `Response.redirect()`. */
  static redirect(url: string | URL, status?: number): Response {
    return Native.redirect(url, status);
  }

  // Ours and the runtime's own Responses are both `instanceof Response`; a subclass of ours
  // keeps the ordinary prototype check.
  static [Symbol.hasInstance](value: unknown): boolean {
    const target = this === FastResponse ? Native : this;
    return Function.prototype[Symbol.hasInstance].call(target, value);
  }

  get status(): number {
    return this.#native?.status ?? this.#status;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get statusText(): string {
    return this.#native?.statusText ?? this.#statusText;
  }

  get type(): ResponseType {
    return this.#native?.type ?? "default";
  }

  get url(): string {
    return this.#native?.url ?? "";
  }

  get redirected(): boolean {
    return this.#native?.redirected ?? false;
  }

  get headers(): Headers {
    if (this.#native !== undefined) return this.#native.headers;
    if (this.#headers === undefined) {
      const head = this.#head!;
      const headers = new Headers();
      for (let i = 0; i < head.length; i += 2) headers.append(head[i], head[i + 1]);
      this.#headers = headers;
    }
    return this.#headers;
  }

  #materialize(): Response {
    if (this.#native === undefined) {
      const headers = this.headers;
      this.#native = new Native(this.#body as BodyInit | null, {
        status: this.#status,
        statusText: this.#statusText,
        headers,
      });
    }
    return this.#native;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#materialize().body;
  }

  get bodyUsed(): boolean {
    return this.#native !== undefined && this.#native.bodyUsed;
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#materialize().arrayBuffer();
  }

  blob(): Promise<Blob> {
    return this.#materialize().blob();
  }

  bytes(): Promise<Uint8Array> {
    // deno-lint-ignore no-explicit-any
    return (this.#materialize() as any).bytes();
  }

  formData(): Promise<FormData> {
    return this.#materialize().formData();
  }

  json(): Promise<unknown> {
    return this.#materialize().json();
  }

  text(): Promise<string> {
    return this.#materialize().text();
  }

  clone(): Response {
    return this.#materialize().clone();
  }

  /** What Node's `util.inspect` shows: the runtime's own Response. */
  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: number,
    options: object,
    inspect: (value: unknown, options: object) => string,
  ): string {
    return inspect(this.#materialize(), options);
  }
}
// Anything else the runtime's Response has (a newer method, an inspection hook) runs on the
// runtime's own object, so that it never meets a receiver it does not know.
for (const key of Reflect.ownKeys(Native.prototype)) {
  if (key === "constructor" || Object.hasOwn(FastResponse.prototype, key)) continue;
  const native = Object.getOwnPropertyDescriptor(Native.prototype, key)!;
  if (native.get) {
    const get = native.get;
    Object.defineProperty(FastResponse.prototype, key, {
      get(this: FastResponse) {
        return get.call(nativeOf(this));
      },
      enumerable: native.enumerable,
      configurable: true,
    });
  } else if (typeof native.value === "function") {
    const method = native.value as (...args: unknown[]) => unknown;
    Object.defineProperty(FastResponse.prototype, key, {
      value: function (this: FastResponse, ...args: unknown[]) {
        return method.apply(nativeOf(this), args);
      },
      writable: true,
      enumerable: native.enumerable,
      configurable: true,
    });
  }
}
Object.setPrototypeOf(FastResponse.prototype, Native.prototype);
Object.setPrototypeOf(FastResponse, Native);

/**
 * The recorded parts of `response`, or `undefined` when it is the runtime's own Response (or one
 * of ours that built it): then read it the public way.
 *
 * @example In a node:http listener
 * ```ts ignore
 * import { FastResponse, recorded } from "./_fast_response.ts";
 * const parts = recorded(new FastResponse("hi") as unknown as Response);
 * // { status: 200, statusText: "", head: ["content-type", "text/plain;charset=UTF-8"], body: "hi" }
 * ```
 */
export function recorded(response: Response): RecordedResponse | undefined {
  return recordOf(response);
}

/**
 * Makes `globalThis.Response` the recording class, once per process.
 *
 * @example
 * ```ts ignore
 * import { installFastResponse } from "./_fast_response.ts";
 * installFastResponse();
 * ```
 */
export function installFastResponse(): void {
  if (globalThis.Response === (FastResponse as unknown)) return;
  Object.defineProperty(globalThis, "Response", {
    value: FastResponse,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

/**
 * The header list of a plain `init` with a body we can keep, or `undefined` when the runtime's
 * own constructor must take these arguments.
 */
function recordable(body: unknown, init: ResponseInit | undefined): string[] | undefined {
  if (
    body !== undefined && body !== null && typeof body !== "string" &&
    !(body instanceof Uint8Array && body.constructor === Uint8Array) &&
    !(body instanceof ArrayBuffer)
  ) return undefined;
  if (init === undefined) return [];
  if (typeof init !== "object" || init === null) return undefined;
  const { status, statusText, headers } = init;
  for (const key in init) {
    if (key !== "status" && key !== "statusText" && key !== "headers") return undefined;
  }
  if (status !== undefined) {
    if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
      return undefined;
    }
    const hasBody = body !== undefined && body !== null;
    if (hasBody && (status === 204 || status === 205 || status === 304)) return undefined;
  }
  if (statusText !== undefined && (typeof statusText !== "string" || !REASON.test(statusText))) {
    return undefined;
  }
  return headers === undefined ? [] : plainHeaders(headers);
}

/** A plain object of string values with valid, distinct names; otherwise `undefined`. */
function plainHeaders(headers: HeadersInit): string[] | undefined {
  if (typeof headers !== "object" || headers === null) return undefined;
  const proto = Object.getPrototypeOf(headers);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const head: string[] = [];
  for (const name in headers as Record<string, unknown>) {
    const value = (headers as Record<string, unknown>)[name];
    if (typeof value !== "string" || !TOKEN.test(name) || UNSURE_VALUE.test(value)) {
      return undefined;
    }
    const lower = name.toLowerCase();
    // Headers would join repeated names ("a, b"): the runtime's constructor does that.
    if (hasName(head, lower)) return undefined;
    head.push(lower, value);
  }
  return head;
}

function hasName(head: string[], name: string): boolean {
  for (let i = 0; i < head.length; i += 2) if (head[i] === name) return true;
  return false;
}

function headList(headers: Headers): string[] {
  const head: string[] = [];
  headers.forEach((value, name) => head.push(name, value));
  return head;
}
