/**
 * The internal message protocol between a primary and its workers (Node's `NODE_CLUSTER`
 * messages, `lib/internal/cluster/utils.js`), made unforgeable.
 *
 * Node marks internal messages with `cmd: "NODE_CLUSTER"`, which any user payload can carry.
 * Here every message our API sends is an envelope `{ "@x/cluster": token, … }` where `token`
 * is a random secret the primary gives each worker at fork time (and the worker removes from
 * its environment). User data travels inside the envelope's `u` field and is never inspected;
 * a message without the envelope key is a user message sent with the raw runtime API;
 * one with the key but a wrong token is rejected as forged.
 *
 * @module
 */

import type { Address, Policy } from "./types.ts";
import { POLICIES } from "./types.ts";
import { MAX_PATH } from "./serve_options.ts";
import { parseStats, type StatsMessage } from "./_stats_message.ts";
import { type SchedulerName, SCHEDULERS } from "./scheduler_types.ts";

/** The envelope key. */
export const ENVELOPE_KEY = "@x/cluster";

/** Which worker API asked for an address: the primary's default policy differs. */
export type ServerApi = "serve" | "listen";

/** A worker asks where to get connections for an address (Node's `queryServer`). */
export interface QueryMessage {
  cmd: "query";
  seq: number;
  hostname: string | null;
  port: number;
  /** The policy `serve()`/`listen()` asked for; `null`: the primary decides. */
  policy: Policy | null;
  backlog: number | null;
  /** For port 0: this worker's how-many-th server on that host (Node's `index`). */
  index: number;
  /** `serve()` or `listen()`; decoded as `"listen"` when absent. */
  api?: ServerApi;
  /** The scheduler `serve()`/`listen()` asked for; `null` or absent: the cluster's. */
  scheduler?: SchedulerName | null;
  /** Bind IPv6 only (Node's `ipv6Only`); absent: false. */
  ipv6Only?: boolean;
  /**
   * The server speaks plain HTTP/1 (`serve()`, a node:http server given to `listen()`): only
   * then may the primary read request heads (`sticky`, ip-hash with `trustProxy`); absent: false.
   */
  http?: boolean;
  /** A UDP socket of this type (shared through the primary, never round-robin); absent: TCP. */
  udp?: "udp4" | "udp6";
  /** UDP: bind the primary's own descriptor `fd` instead of an address (Node's dgram `fd`). */
  fd?: number;
  /** UDP: bind with SO_REUSEADDR (dgram's `reuseAddr`); absent: false. */
  reuseAddr?: boolean;
  /** A Unix domain socket path, instead of `hostname` and `port` (then null and 0). */
  path?: string;
}

/** A worker's server is bound (after a `query`). */
export interface ListeningMessage {
  cmd: "listening";
  key: string;
  address: Address;
  /**
   * The worker serves with a native listener whose close may lose connections: what and why,
   * and what avoids it (`WorkerServer.lossOnClose`), at most {@linkcode MAX_LOSS_TEXT} chars.
   */
  lossOnClose?: string;
}

/** Messages a worker sends to its primary. */
export type WorkerToPrimary =
  | { cmd: "online" }
  | { cmd: "ready" }
  | { cmd: "heartbeat"; requests: number; rss: number }
  | StatsMessage
  | QueryMessage
  | ListeningMessage
  | { cmd: "close"; key: string }
  /** `Cluster.worker.claim(key)`: connections with this sticky key go to this worker. */
  | { cmd: "claim"; key: string }
  | LoadMessage
  | ReturnedMessage
  /** `active`: a `newconn` reply's count of the key's open connections, this one included. */
  | { cmd: "reply"; ack: number; accepted: boolean; active?: number };

/**
 * A worker's open connections of a round-robin address changed (sent at most once per
 * `LOAD_INTERVAL` ms, not per event): the least-connections scheduler reads them.
 */
export interface LoadMessage {
  cmd: "load";
  key: string;
  active: number;
}

/**
 * A worker hands back a connection it refused after its runtime had acknowledged it (a
 * `newconn` with `receipt`), with the connection as handle: the primary routes it again, to a
 * worker not in `tried` (the ones that handed it back before, as the `newconn` said).
 */
export interface ReturnedMessage {
  cmd: "returned";
  key: string;
  tried?: number[];
}

/** How many workers may hand one connection back before it is dropped (ids in `tried`). */
export const MAX_TRIED = 64;

/** The longest `lossOnClose` a worker may send (the primary prints it once per cluster). */
export const MAX_LOSS_TEXT = 1000;
/**
 * Control characters (terminal escapes among them), refused in text the primary prints; with
 * the line and paragraph separators and the bidirectional overrides.
 */
// deno-lint-ignore no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** How often (ms) at most a worker reports changed connection counts. */
export const LOAD_INTERVAL = 25;

/** The worker-to-primary messages about servers, which the cluster (not the record) routes. */
export type ServerMessage = Extract<
  WorkerToPrimary,
  { cmd: "query" | "listening" | "close" | "claim" | "returned" }
>;

/** Messages a primary sends to a worker. */
export type PrimaryToWorker =
  /**
   * `head`: base64 of the bytes the primary read of the connection (L7 sticky routing).
   * `receipt`: the runtime's acknowledgement of the handle answers for the worker, which
   * writes only to hand a refused connection back (`returned`, with `tried` and its own id).
   */
  | {
    cmd: "newconn";
    seq: number;
    key: string;
    head?: string;
    receipt?: true;
    tried?: number[];
  }
  | { cmd: "lend"; seq: number; key: string }
  | { cmd: "disconnect" }
  | { cmd: "reply"; ack: number; result: QueryResult };

/** The primary's answer to a `query`. */
export type QueryResult =
  | {
    ok: true;
    policy: Policy;
    key: string;
    hostname: string | null;
    port: number;
    /** The Unix socket path a `path` query got (then `hostname` is null and `port` -1). */
    path?: string;
    /**
     * "reuse-port" only: serve with a listen socket the worker can lend to its replacement
     * (node:http), never with the runtime's native server (the cluster's `strictReloads`).
     */
    strict?: boolean;
  }
  | { ok: false; code: string; message: string };

/** Any internal message. */
export type InternalMessage = WorkerToPrimary | PrimaryToWorker;

/** What a raw channel message turned out to be. */
export type Decoded<M> =
  | { kind: "user"; data: unknown }
  | { kind: "internal"; message: M }
  | { kind: "invalid"; reason: string };

/** Makes a fresh per-worker secret (122 random bits: a v4 UUID's, as 32 hex chars). */
export function createToken(): string {
  // Not getRandomValues(): Node's first call costs 9 ms (webcrypto's setup, measured on Node 24),
  // randomUUID()'s 0.3–0.6 ms, and the primary makes a token before its first fork (issue #10).
  return crypto.randomUUID().replaceAll("-", "");
}

/** Wraps a user message. */
export function encodeUser(token: string, data: unknown): Record<string, unknown> {
  // A literal key, not `[ENVELOPE_KEY]`: V8 builds a computed key through a runtime call, on
  // every message (seen in perf profiles of round-robin churn, issue #10).
  return { "@x/cluster": token, u: data };
}

/** Wraps an internal message. */
export function encodeInternal(token: string, message: InternalMessage): Record<string, unknown> {
  return { "@x/cluster": token, i: message };
}

/** Decodes a message that arrived at the primary. */
export function decodeAtPrimary(raw: unknown, token: string): Decoded<WorkerToPrimary> {
  return decode(raw, token, parseWorkerToPrimary);
}

/** Decodes a message that arrived at a worker. */
export function decodeAtWorker(raw: unknown, token: string): Decoded<PrimaryToWorker> {
  return decode(raw, token, parsePrimaryToWorker);
}

function decode<M>(
  raw: unknown,
  token: string,
  parse: (value: Record<string, unknown>) => M | string,
): Decoded<M> {
  if (!isRecord(raw) || !Object.hasOwn(raw, ENVELOPE_KEY)) return { kind: "user", data: raw };
  if (raw[ENVELOPE_KEY] !== token) {
    return { kind: "invalid", reason: "envelope token does not match (forged message)" };
  }
  if (Object.hasOwn(raw, "u")) return { kind: "user", data: raw.u };
  const inner = Object.hasOwn(raw, "i") ? raw.i : undefined;
  if (!isRecord(inner)) return { kind: "invalid", reason: "internal message is not an object" };
  const parsed = parse(inner);
  if (typeof parsed === "string") return { kind: "invalid", reason: parsed };
  return { kind: "internal", message: parsed };
}

function parseWorkerToPrimary(m: Record<string, unknown>): WorkerToPrimary | string {
  switch (own(m, "cmd")) {
    case "online":
      return { cmd: "online" };
    case "ready":
      return { cmd: "ready" };
    case "heartbeat": {
      const requests = own(m, "requests"), rss = own(m, "rss");
      if (!isCount(requests) || !isCount(rss)) return "heartbeat: bad requests or rss";
      return { cmd: "heartbeat", requests, rss };
    }
    case "stats":
      return parseStats(m);
    case "query": {
      const seq = own(m, "seq"), port = own(m, "port"), hostname = own(m, "hostname");
      const policy = own(m, "policy"), backlog = own(m, "backlog");
      const index = own(m, "index") ?? 0, sentApi = own(m, "api");
      const api = sentApi === undefined ? "listen" : sentApi;
      const scheduler = own(m, "scheduler") ?? null;
      const ipv6Only = own(m, "ipv6Only") ?? false;
      if (typeof ipv6Only !== "boolean") return "query: bad ipv6Only";
      const http = own(m, "http") ?? false;
      if (typeof http !== "boolean") return "query: bad http";
      const udp = own(m, "udp");
      if (udp !== undefined && udp !== "udp4" && udp !== "udp6") return "query: bad udp";
      const fd = own(m, "fd");
      if (fd !== undefined && !(Number.isInteger(fd) && (fd as number) >= 0)) {
        return "query: bad fd";
      }
      const reuseAddr = own(m, "reuseAddr") ?? false;
      if (typeof reuseAddr !== "boolean") return "query: bad reuseAddr";
      const path = own(m, "path");
      if (path !== undefined && !isPath(path)) return "query: bad path";
      if (path !== undefined && (udp !== undefined || hostname !== null || port !== 0)) {
        return "query: path with an address";
      }
      if (scheduler !== null && !SCHEDULERS.includes(scheduler as SchedulerName)) {
        return "query: bad scheduler";
      }
      if (!isCount(index)) return "query: bad index";
      if (api !== "serve" && api !== "listen") return "query: bad api";
      if (!isSeq(seq)) return "query: bad seq";
      if (!isPort(port)) return "query: bad port";
      if (hostname !== null && (typeof hostname !== "string" || hostname.length > 255)) {
        return "query: bad hostname";
      }
      if (policy !== null && !POLICIES.includes(policy as Policy)) return "query: bad policy";
      if (backlog !== null && !(Number.isInteger(backlog) && (backlog as number) >= 0)) {
        return "query: bad backlog";
      }
      return {
        cmd: "query",
        seq,
        port,
        hostname: hostname as string | null,
        policy: policy as Policy | null,
        backlog: backlog as number | null,
        index,
        api,
        // Only when asked for: older workers' queries decode as they always did.
        ...(scheduler === null ? {} : { scheduler: scheduler as SchedulerName }),
        ...(ipv6Only ? { ipv6Only } : {}),
        ...(http ? { http } : {}),
        ...(udp ? { udp: udp as "udp4" | "udp6" } : {}),
        ...(udp && fd !== undefined ? { fd: fd as number } : {}),
        ...(udp && reuseAddr ? { reuseAddr } : {}),
        ...(path === undefined ? {} : { path: path as string }),
      };
    }
    case "listening": {
      const key = own(m, "key"), address = parseAddress(own(m, "address"));
      const lossOnClose = own(m, "lossOnClose");
      if (!isKey(key)) return "listening: bad key";
      if (!address) return "listening: bad address";
      if (lossOnClose === undefined) return { cmd: "listening", key, address };
      // Printed by the primary: a hostile worker must not write control sequences to its log.
      if (
        typeof lossOnClose !== "string" || lossOnClose.length === 0 ||
        lossOnClose.length > MAX_LOSS_TEXT || lossOnClose.search(CONTROL_CHARS) !== -1
      ) {
        return "listening: bad lossOnClose";
      }
      return { cmd: "listening", key, address, lossOnClose };
    }
    case "close": {
      const key = own(m, "key");
      return isKey(key) ? { cmd: "close", key } : "close: bad key";
    }
    case "claim": {
      const key = own(m, "key");
      return isKey(key) ? { cmd: "claim", key } : "claim: bad key";
    }
    case "reply": {
      const ack = own(m, "ack"), accepted = own(m, "accepted"), active = own(m, "active");
      if (!isSeq(ack) || typeof accepted !== "boolean") return "reply: bad ack or accepted";
      if (active === undefined) return { cmd: "reply", ack, accepted };
      if (!isCount(active)) return "reply: bad active";
      return { cmd: "reply", ack, accepted, active };
    }
    case "load": {
      const key = own(m, "key"), active = own(m, "active");
      if (!isKey(key) || !isCount(active)) return "load: bad key or active";
      return { cmd: "load", key, active };
    }
    case "returned": {
      const key = own(m, "key"), tried = own(m, "tried");
      if (!isKey(key)) return "returned: bad key";
      if (tried === undefined) return { cmd: "returned", key };
      return isTried(tried) ? { cmd: "returned", key, tried } : "returned: bad tried";
    }
    default:
      return unknownCommand(own(m, "cmd"));
  }
}

function parsePrimaryToWorker(m: Record<string, unknown>): PrimaryToWorker | string {
  switch (own(m, "cmd")) {
    case "newconn":
    case "lend": {
      const cmd = own(m, "cmd") as "newconn" | "lend", seq = own(m, "seq"), key = own(m, "key");
      if (!isSeq(seq) || !isKey(key)) return `${cmd}: bad seq or key`;
      if (cmd === "lend") return { cmd, seq, key };
      const head = own(m, "head"), receipt = own(m, "receipt"), tried = own(m, "tried");
      if (receipt !== undefined) {
        if (receipt !== true || head !== undefined) return "newconn: bad receipt";
        if (tried === undefined) return { cmd, seq, key, receipt };
        return isTried(tried) ? { cmd, seq, key, receipt, tried } : "newconn: bad tried";
      }
      if (head === undefined) return { cmd, seq, key };
      if (typeof head !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(head)) {
        return "newconn: bad head";
      }
      return { cmd, seq, key, head };
    }
    case "disconnect":
      return { cmd: "disconnect" };
    case "reply": {
      const ack = own(m, "ack"), result = own(m, "result");
      if (!isSeq(ack) || !isRecord(result)) return "reply: bad ack or result";
      if (own(result, "ok") === true) {
        const policy = own(result, "policy"), key = own(result, "key");
        const port = own(result, "port"), hostname = own(result, "hostname");
        const path = own(result, "path");
        if (path !== undefined && (!isPath(path) || port !== -1)) return "reply: bad path";
        if (
          !POLICIES.includes(policy as Policy) || !isKey(key) ||
          !(isPort(port) || path !== undefined)
        ) {
          return "reply: bad result";
        }
        if (hostname !== null && typeof hostname !== "string") return "reply: bad hostname";
        const strict = own(result, "strict");
        if (strict !== undefined && typeof strict !== "boolean") return "reply: bad strict";
        const ok = {
          ok: true as const,
          policy: policy as Policy,
          key,
          port: port as number,
          hostname,
          ...(path === undefined ? {} : { path: path as string }),
        };
        return { cmd: "reply", ack, result: strict === undefined ? ok : { ...ok, strict } };
      }
      const code = own(result, "code"), message = own(result, "message");
      if (typeof code !== "string" || typeof message !== "string") return "reply: bad error";
      return { cmd: "reply", ack, result: { ok: false, code, message } };
    }
    default:
      return unknownCommand(own(m, "cmd"));
  }
}

/** Names a bad `cmd` without ever throwing (it may be any JSON or structured-clone value). */
function unknownCommand(cmd: unknown): string {
  return typeof cmd === "string"
    ? `unknown command ${JSON.stringify(cmd.slice(0, 50))}`
    : `command is a ${typeof cmd}, not a string`;
}

function parseAddress(value: unknown): Address | undefined {
  if (!isRecord(value)) return undefined;
  const hostname = own(value, "hostname"), port = own(value, "port"), family = own(value, "family");
  if (family === "unix") {
    return isPath(hostname) && port === -1 ? { hostname, port, family } : undefined;
  }
  if (typeof hostname !== "string" || !isPort(port) || port === 0) return undefined;
  if (family !== "IPv4" && family !== "IPv6") return undefined;
  return { hostname, port, family };
}

/** Reads an own property only: keys like `__proto__` inherited or injected stay inert. */
function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535;
}

/** A Unix socket path as `ServeOptions.path` allows it (src/serve_options.ts). */
function isPath(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_PATH;
}

/** Worker ids that handed a connection back: a short list of positive integers. */
function isTried(value: unknown): value is number[] {
  return Array.isArray(value) && value.length <= MAX_TRIED && value.every(isSeq);
}

function isKey(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length < 300;
}
