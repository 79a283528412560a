// The request head the primary reads for L7 `sticky` routing: parsed just enough to route
// (request line, header fields), and the sticky key taken from a header, a cookie or a query
// parameter. The bytes themselves go to the worker untouched; its HTTP server parses them again.

import type { RequestHead } from "./scheduler_types.ts";

/** Where the sticky key of a request is (the `sticky` option); the first one present wins. */
export interface StickyKeySource {
  /** A request header, e.g. `"x-tenant"` (case-insensitive). */
  header?: string;
  /** A cookie, e.g. `"session"`. */
  cookie?: string;
  /** A query parameter of the request target, e.g. `"sid"` (Socket.IO). */
  query?: string;
}

/**
 * Parses an HTTP/1 request head (`bytes` up to and including the blank line); `undefined` if
 * it is not one.
 *
 * @example
 * ```ts
 * import { parseHead } from "./_sticky_head.ts";
 * const bytes = new TextEncoder().encode("GET /?sid=a HTTP/1.1\r\nHost: x\r\n\r\n");
 * console.log(parseHead(bytes)?.target); // "/?sid=a"
 * ```
 */
export function parseHead(bytes: Uint8Array): RequestHead | undefined {
  // Header bytes are ISO-8859-1 (RFC 9110 5.5): one char per byte, never a decoding error.
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, Math.min(i + 4096, bytes.length)));
  }
  const end = text.indexOf("\r\n\r\n");
  const lines = (end === -1 ? text : text.slice(0, end)).split("\r\n");
  // The method is an RFC 9110 token; ' and ` are spelled \x27 and \x60 because the npm build's
  // comment scanner (scripts/npm_build/_text.ts) reads quotes in a regex literal as strings.
  const match = /^([!#$%&\x27*+\-.^_\x60|~0-9A-Za-z]+) (\S+) (HTTP\/\d(?:\.\d)?)$/.exec(lines[0] ?? "");
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    // Own data properties only: a header named __proto__ stays a plain key.
    const previous = Object.hasOwn(headers, name) ? headers[name] : undefined;
    const joined = previous === undefined ? value : `${previous}${name === "cookie" ? "; " : ", "}${value}`;
    Object.defineProperty(headers, name, { value: joined, enumerable: true, writable: true, configurable: true });
  }
  return { method: match[1], target: match[2], version: match[3], headers };
}

/**
 * The sticky key of `head` per `source` (header, then cookie, then query), or `undefined`.
 *
 * @example
 * ```ts
 * import { stickyKey } from "./_sticky_head.ts";
 * const head = { method: "GET", target: "/x?sid=abc", version: "HTTP/1.1", headers: {} };
 * console.log(stickyKey(head, { query: "sid" })); // "abc"
 * ```
 */
export function stickyKey(head: RequestHead, source: StickyKeySource): string | undefined {
  if (source.header) {
    const value = head.headers[source.header.toLowerCase()];
    if (value) return value;
  }
  if (source.cookie) {
    for (const pair of (head.headers["cookie"] ?? "").split(";")) {
      const eq = pair.indexOf("=");
      if (eq !== -1 && pair.slice(0, eq).trim() === source.cookie) {
        const value = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
        if (value) return value;
      }
    }
  }
  if (source.query) {
    const q = head.target.indexOf("?");
    if (q !== -1) {
      try {
        const value = new URLSearchParams(head.target.slice(q + 1)).get(source.query);
        if (value) return value;
      } catch {
        // A malformed query has no key.
      }
    }
  }
  return undefined;
}
