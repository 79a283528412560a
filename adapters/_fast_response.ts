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

/**
 * Marks the class on `globalThis.Response`, so that a second copy of this module (an ESM and a
 * CommonJS build in one worker) does not wrap the first one's class again.
 */
const BRAND = Symbol.for("@x/cluster.fastResponse");

/** What the bridge writes for a recorded response. */
export interface RecordedResponse {
  status: number;
  /** `""` when none was given (the server then sends the standard reason phrase). */
  statusText: string;
  /** Header names (lower-case) and values, alternating, as node:http's `writeHead` takes them. */
  head: string[];
  body: string | Uint8Array | null;
}

/** Reads a response's recorded parts once (set by the class's static block). */
let takeRecord: (response: Response) => RecordedResponse | undefined;
/** Whether `value` is one of ours (set by the static block). */
let isOurs: (value: unknown) => value is FastResponse;
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
  /** The Headers object `headers` returned: the one object for the response's whole life. */
  #headers: Headers | undefined = undefined;
  /** The runtime's own Response, once something needed it (its headers are not ours). */
  #native: Response | undefined = undefined;
  /** The bridge sent the body: it is used, as a read stream would be. */
  #sent = false;

  static {
    nativeOf = (response) => response.#materialize();
    isOurs = (value): value is FastResponse =>
      typeof value === "object" && value !== null && #native in value;
    takeRecord = (response) => {
      // A subclass may override any accessor: it is read the public way.
      if (!isOurs(response) || Object.getPrototypeOf(response) !== FastResponse.prototype) {
        return undefined;
      }
      if (response.#native !== undefined || response.#sent) return undefined;
      const body = response.#body;
      if (body !== null) response.#sent = true;
      return {
        status: response.#status,
        statusText: response.#statusText,
        head: response.#headers === undefined ? response.#head!.slice() : list(response.#headers),
        body,
      };
    };
  }

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    // Each member of `init` is read once, as the runtime's constructor does.
    const parts = init === undefined ? undefined : readInit(init);
    const head = parts === undefined && init !== undefined ? undefined : recordable(body, parts);
    if (head === undefined) {
      this.#native = new Native(body, parts ?? init);
      return;
    }
    if (parts?.status !== undefined) this.#status = parts.status;
    if (parts?.statusText !== undefined) this.#statusText = parts.statusText;
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
    const parts = init === undefined ? {} : readInit(init);
    const text = JSON.stringify(data);
    if (text === undefined || parts === undefined || recordable(null, parts) === undefined) {
      return Native.json(data, init);
    }
    const headers = (parts.headers ?? {}) as Record<string, string>;
    const typed = Object.keys(headers).some((name) => name.toLowerCase() === "content-type");
    return new FastResponse(text, {
      ...parts,
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

  // Ours and the runtime's own Responses are both `instanceof Response` (through the replaced
  // class's own check, should it be another wrapper); a subclass keeps the ordinary check.
  static [Symbol.hasInstance](value: unknown): boolean {
    if (this !== FastResponse) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isOurs(value) || value instanceof Native;
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
    if (this.#headers !== undefined) return this.#headers;
    // Built before anyone asked for our Headers: the runtime's object is the only one.
    if (this.#native !== undefined) return this.#native.headers;
    const head = this.#head!;
    const headers = new Headers();
    for (let i = 0; i < head.length; i += 2) headers.append(head[i], head[i + 1]);
    return (this.#headers = headers);
  }

  /** The runtime's Response for the body; `headers` stays the object user code holds. */
  #materialize(): Response {
    if (this.#native === undefined) {
      const native = new Native(this.#body as BodyInit | null, {
        status: this.#status,
        statusText: this.#statusText,
        headers: this.#headers ?? pairs(this.#head!),
      });
      // Sent once already: the body is used, as the runtime's would be.
      if (this.#sent) native.arrayBuffer().catch(() => {});
      this.#native = native;
    }
    return this.#native;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#materialize().body;
  }

  get bodyUsed(): boolean {
    return this.#sent || (this.#native !== undefined && this.#native.bodyUsed);
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
    const copy = this.#materialize().clone();
    // The clone's headers are a copy of what `headers` says now (ours, if user code has them).
    const headers = this.#headers;
    if (headers !== undefined) {
      for (const name of [...copy.headers.keys()]) copy.headers.delete(name);
      headers.forEach((value, name) => copy.headers.append(name, value));
    }
    return copy;
  }

  /** What Node's `util.inspect` shows: the runtime's Response with the same parts. */
  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: number,
    options: object,
    inspect: (value: unknown, options: object) => string,
  ): string {
    if (this.#native !== undefined) return inspect(this.#native, options);
    // Built for display only: nothing about this response changes.
    const { status, statusText } = this;
    const shown = new Native(this.#body as BodyInit | null, {
      status,
      statusText,
      headers: this.headers,
    });
    return inspect(shown, options);
  }
}
Object.defineProperty(FastResponse, "name", { value: "Response" });
Object.defineProperty(FastResponse, "length", { value: 0 });
Object.defineProperty(FastResponse, BRAND, { value: true });

// Each member runs the runtime's own on the runtime's own objects (`Response.prototype.text
// .call(fetchResult)` works as before); anything else the runtime's Response has (a newer
// method) runs on the runtime's object behind ours.
for (const key of Reflect.ownKeys(Native.prototype)) {
  if (key === "constructor") continue;
  const native = Object.getOwnPropertyDescriptor(Native.prototype, key)!;
  const ours = Object.getOwnPropertyDescriptor(FastResponse.prototype, key);
  if (native.get) {
    const nativeGet = native.get, ourGet = ours?.get;
    Object.defineProperty(FastResponse.prototype, key, {
      get(this: unknown) {
        if (!isOurs(this)) return nativeGet.call(this);
        return ourGet ? ourGet.call(this) : nativeGet.call(nativeOf(this));
      },
      enumerable: native.enumerable,
      configurable: true,
    });
  } else if (typeof native.value === "function") {
    const nativeMethod = native.value as (...args: unknown[]) => unknown;
    const ourMethod = ours?.value as ((...args: unknown[]) => unknown) | undefined;
    Object.defineProperty(FastResponse.prototype, key, {
      value: function (this: unknown, ...args: unknown[]) {
        if (!isOurs(this)) return nativeMethod.apply(this, args);
        return ourMethod ? ourMethod.apply(this, args) : nativeMethod.apply(nativeOf(this), args);
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
 * The recorded parts of `response`, taken for sending (its body then counts as used), or
 * `undefined` when it is the runtime's own Response, a subclass, or one of ours whose body
 * something read: then send it the public way.
 *
 * @example In a node:http listener
 * ```ts ignore
 * import { FastResponse, recorded } from "./_fast_response.ts";
 * const parts = recorded(new FastResponse("hi") as unknown as Response);
 * // { status: 200, statusText: "", head: ["content-type", "text/plain;charset=UTF-8"], body: "hi" }
 * ```
 */
export function recorded(response: Response): RecordedResponse | undefined {
  return takeRecord(response);
}

/**
 * Makes `globalThis.Response` the recording class, once per process (not over another copy's).
 *
 * @example
 * ```ts ignore
 * import { installFastResponse } from "./_fast_response.ts";
 * installFastResponse();
 * ```
 */
export function installFastResponse(): void {
  const current = globalThis.Response as unknown as Record<symbol, unknown>;
  if (current[BRAND] === true) return;
  Object.defineProperty(globalThis, "Response", {
    value: FastResponse,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

/** `init`'s members, each read once in WebIDL's order; `undefined`: not a plain dictionary. */
function readInit(init: ResponseInit): ResponseInit | undefined {
  if (typeof init !== "object" || init === null) return undefined;
  for (const key in init) {
    if (key !== "status" && key !== "statusText" && key !== "headers") return undefined;
  }
  const { headers, status, statusText } = init;
  return { headers, status, statusText };
}

/**
 * The header list of a plain `init` with a body we can keep, or `undefined` when the runtime's
 * own constructor must take these arguments.
 */
function recordable(body: unknown, init: ResponseInit | undefined): string[] | undefined {
  if (body !== undefined && body !== null && typeof body !== "string" && !plainBytes(body)) {
    return undefined;
  }
  if (init === undefined) return [];
  const { status, statusText, headers } = init;
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

/**
 * A plain Uint8Array or ArrayBuffer over memory of its own (not shared, not detached: the
 * runtime treats those differently).
 */
function plainBytes(body: unknown): boolean {
  const buffer = body instanceof ArrayBuffer
    ? body
    : body instanceof Uint8Array && body.constructor === Uint8Array
    ? body.buffer
    : undefined;
  return buffer instanceof ArrayBuffer && !(buffer as { detached?: boolean }).detached;
}

/** A plain object of string values with valid, distinct names; otherwise `undefined`. */
function plainHeaders(headers: HeadersInit): string[] | undefined {
  if (typeof headers !== "object" || headers === null) return undefined;
  const proto = Object.getPrototypeOf(headers);
  if (proto !== Object.prototype && proto !== null) return undefined;
  // The runtime's record conversion reads symbol keys too (and throws).
  if (Object.getOwnPropertySymbols(headers).length > 0) return undefined;
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

/**
 * Whether a header list (names and values, alternating, names lower-case) has header `name`.
 *
 * @example
 * ```ts ignore
 * hasName(["content-type", "text/plain"], "content-type"); // true
 * ```
 */
export function hasName(head: string[], name: string): boolean {
  for (let i = 0; i < head.length; i += 2) if (head[i] === name) return true;
  return false;
}

function list(headers: Headers): string[] {
  const head: string[] = [];
  headers.forEach((value, name) => head.push(name, value));
  return head;
}

function pairs(head: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < head.length; i += 2) out.push([head[i], head[i + 1]]);
  return out;
}
