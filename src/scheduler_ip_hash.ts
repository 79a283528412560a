/**
 * Sticky by client address: rendezvous (highest-random-weight) hashing of the client's address
 * over the workers' slots. Each key goes to the slot with the highest hash of (key, slot), so
 * adding a slot moves only the keys it now wins (about 1/(N+1) of them) and removing one moves
 * only its own keys; a restarted or reloaded worker keeps its slot and so its clients. (egg's
 * sticky mode hashes the address modulo the worker count, which reshuffles every client on
 * scaling: eggjs/egg#1237.)
 *
 * @module
 */

import type { Candidate, Scheduler, ScheduleInfo } from "./scheduler_types.ts";

/**
 * The ip-hash scheduler: the client's address, or `info.request`'s first forwarded address
 * when `trustProxy` (see {@linkcode forwardedFor}).
 *
 * @example
 * ```ts
 * import { ipHash } from "./scheduler_ip_hash.ts";
 * const workers = [0, 1, 2].map((slot) => ({ id: slot + 1, slot, active: 0, inFlight: 0, stalled: false }));
 * const info = { remoteAddress: "10.0.0.7", remotePort: 5000, key: "k", request: undefined };
 * const first = ipHash().pick(workers, info);
 * console.log(ipHash().pick(workers, info) === first); // true
 * ```
 */
export function ipHash(options: { trustProxy?: boolean } = {}): Scheduler {
  const trustProxy = options.trustProxy ?? false;
  return {
    waits: true,
    sticky: true,
    pick(candidates, info) {
      const forwarded = trustProxy ? forwardedFor(info) : undefined;
      return rendezvous(forwarded ?? info.remoteAddress ?? "", candidates);
    },
  };
}

/**
 * The candidate whose slot wins `key` under rendezvous hashing (the newest worker of a slot on
 * a tie: a reload's replacement).
 *
 * @example
 * ```ts
 * import { rendezvous } from "./scheduler_ip_hash.ts";
 * const workers = [0, 1].map((slot) => ({ id: slot + 1, slot, active: 0, inFlight: 0, stalled: false }));
 * console.log(rendezvous("user-42", workers)?.slot); // 0 or 1, the same every time
 * ```
 */
export function rendezvous<C extends Candidate>(key: string, candidates: readonly C[]): C | undefined {
  const h = hash32(key);
  let best: C | undefined, bestScore = -1;
  for (const candidate of candidates) {
    const score = mix32(h ^ mix32(Math.imul(candidate.slot + 1, 0x9e3779b1)));
    if (score > bestScore || (score === bestScore && best && candidate.id > best.id)) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/**
 * The first client address of a request's `Forwarded` (RFC 7239 `for=`) or `X-Forwarded-For`
 * header, or `undefined` when the primary read no request head or it has neither.
 *
 * @example
 * ```ts
 * import { forwardedFor } from "./scheduler_ip_hash.ts";
 * const request = { method: "GET", target: "/", version: "HTTP/1.1", headers: { "x-forwarded-for": "203.0.113.9, 10.0.0.1" } };
 * console.log(forwardedFor({ remoteAddress: "10.0.0.1", remotePort: 1, key: "k", request })); // "203.0.113.9"
 * ```
 */
export function forwardedFor(info: ScheduleInfo): string | undefined {
  const headers = info.request?.headers;
  if (!headers) return undefined;
  const forwarded = headers["forwarded"];
  if (forwarded) {
    const match = /(?:^|[;,\s])for="?\[?([^\]",;\s]+)/i.exec(forwarded);
    if (match) return match[1];
  }
  const first = headers["x-forwarded-for"]?.split(",")[0]?.trim();
  return first || undefined;
}

/** FNV-1a over the UTF-16 code units of `text`, finished with a mix for avalanche. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** MurmurHash3's 32-bit finalizer: every input bit affects every output bit. Unsigned. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
