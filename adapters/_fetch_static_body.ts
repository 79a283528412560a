// Reads a Response's body without reading its stream, where the runtime lets us. Deno keeps a
// `new Response("…")` body as the string or bytes it was given, under an internal symbol
// (ext/fetch/23_response.js, `Symbol("response")` → `InnerBody.streamOrStatic`); asking for
// `response.body` instead builds a ReadableStream, and reading it costs two promise round trips:
// measured on Deno 2.9.6, 5–17 µs per response on a busy box against under 1 µs here. Node's
// undici keeps its state in `#private` fields and Bun's Response is native, so neither shows the body: there
// this module answers `undefined` and the caller takes the public path (read the stream).
//
// The shape is checked at the first call against Responses whose bodies we know, so a runtime
// that changed its internals falls back to the public path instead of sending a wrong body. Not
// at load time: the probe's `new Response()` loads Node's undici (20–28 ms measured on Node 24),
// which a worker would pay before it listens and a primary that serves nothing would pay at all
// (issue #10, startup).

/** A body sent in one write. */
export type StaticBody = string | Uint8Array;

interface Symbols {
  response: symbol;
  lazy: symbol;
}

interface InnerResponse {
  body: { streamOrStatic: unknown } | null;
}

/** Deno's symbols; `undefined`: not there or not what we expect; `null`: not probed yet. */
let symbols: Symbols | undefined | null = null;

/**
 * The body of `response` as the string or bytes it was made from; `null` if it has none;
 * `undefined` when it is a stream or the runtime does not tell (then read `response.body`).
 * Read `response.headers` first: on Deno that is what turns a lazily kept body into the inner one.
 *
 * @example Sending a static body in one write
 * ```ts
 * import { staticBody } from "./_fetch_static_body.ts";
 *
 * const response = new Response("hello");
 * response.headers.forEach(() => {});
 * const body = staticBody(response); // "hello" on Deno, undefined elsewhere
 * ```
 */
export function staticBody(response: Response): StaticBody | null | undefined {
  if (symbols === null) symbols = internalSymbols();
  return symbols === undefined ? undefined : peek(response, symbols);
}

function peek(response: Response, symbols: Symbols): StaticBody | null | undefined {
  const own = response as unknown as Record<symbol, unknown>;
  // A body still kept lazily (nothing read the headers) is not in the inner response yet.
  if (own[symbols.lazy] != null) return undefined;
  const inner = own[symbols.response] as InnerResponse | undefined;
  if (typeof inner !== "object" || inner === null) return undefined;
  if (inner.body === null) return null;
  const source = inner.body?.streamOrStatic as { body?: unknown; consumed?: boolean } | undefined;
  if (source === undefined || source instanceof ReadableStream || source.consumed !== false) {
    return undefined;
  }
  const body = source.body;
  return typeof body === "string" || body instanceof Uint8Array ? body : undefined;
}

/** Finds Deno's symbols and checks that they mean what `staticBody` expects. */
function internalSymbols(): Symbols | undefined {
  const probe = new Response("probe");
  const response = findSymbol(probe, "response");
  const lazy = findSymbol(probe, "lazy static body");
  if (response === undefined || lazy === undefined) return undefined;
  const found = { response, lazy };
  const check = (body: BodyInit | null, init?: ResponseInit): StaticBody | null | undefined => {
    const response = new Response(body, init);
    response.headers.forEach(() => {});
    return peek(response, found);
  };
  const bytes = check(new Uint8Array([1, 2, 3]));
  const fits = check("probe") === "probe" &&
    check("x", { status: 201, headers: { "x-a": "1" } }) === "x" &&
    bytes instanceof Uint8Array && bytes.length === 3 &&
    check(null, { status: 204 }) === null &&
    check(new ReadableStream()) === undefined;
  return fits ? found : undefined;
}

function findSymbol(object: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(object).find((s) => s.description === description);
}
