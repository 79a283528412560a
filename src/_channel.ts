// Request/reply over one IPC channel: Node's `sendHelper`/`internal` pair from
// lib/internal/cluster/utils.js, with the `seq` counter and the callback table kept per channel
// (Node keeps one module-global counter and table for all workers).
//
// Handoffs (`newconn`) can be lost: a worker out of descriptors cannot receive the socket, and
// its runtime drops the message (Node and Bun answer NODE_HANDLE_NACK, retransmit three times,
// then drop it with only a SentHandleNotReceivedWarning in the sender). Unanswered, each one
// held a round-robin slot of that worker for good: after four, the worker got no connection
// again although it had descriptors back (issue #13, item 9). A worker answers every
// `newconn` at once, in the order they arrive (child.ts), so an answer to one proves that every
// earlier one still pending was lost; they are rejected (the handle then gives the connection
// to another worker). A handoff left unanswered for PROBE_MS gets a probe behind it: a
// `newconn` without a socket, which the worker refuses at once, in order.
//
// Where the runtime acknowledges each handle it received (`handoffReceipts`: Node), a handoff
// is settled by that acknowledgement instead (`receipt: true` in the `newconn`): the worker
// writes nothing for a connection it takes, and hands a refused one back (`returned`). That
// spares one message per connection in each process (docs/performance.md has the figures).

import { ClusterError } from "./errors.ts";
import { encodeInternal, encodeUser, ENVELOPE_KEY, type InternalMessage } from "./protocol.ts";
import type { HandleReceipt } from "./types.ts";

/**
 * Writes one message. `keepOpen` false lets the runtime close the sender's copy of a socket
 * once sent (Node's default for user sends); internal handoffs keep it until the worker acks.
 */
type RawSend = (
  message: unknown,
  handle: unknown,
  keepOpen: boolean,
  receipt?: HandleReceipt,
) => Promise<void>;

/** Settles one request: an error, or the reply and the handle that came with it. */
type Settle = (error: Error | undefined, reply?: unknown, handle?: unknown) => void;

/** What a handoff settled by its receipt answers: the worker took it. */
const RECEIVED = { cmd: "reply", accepted: true } as const;

/** How long a handoff waits for its answer before a probe is sent behind it (ms). */
export const PROBE_MS = 1000;

/** One side of an IPC channel: envelopes, `seq` numbering and pending replies. */
export class Channel {
  #token: string;
  #send: RawSend;
  #seq = 0;
  #pending = new Map<number, Settle>();
  #closed: Error | undefined;
  /** Unanswered `newconn` requests, oldest first: their seq and when each was sent. */
  #handoffs: number[] = [];
  #handoffSentAt: number[] = [];
  /** The key of the latest handoff (a probe goes behind it, on its key). */
  #handoffKey = "";
  /**
   * One timer at most, armed when a handoff waits and none runs, never cleared per answer:
   * re-arming it at every answer cost a clearTimeout and a setTimeout per connection (issue #10).
   */
  #probe: ReturnType<typeof setTimeout> | undefined;
  #probing = false;

  constructor(token: string, send: RawSend) {
    this.#token = token;
    this.#send = send;
  }

  /** Requests in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Sends a user message: as it is, unless the other side could take it for something else
   * (then inside an envelope). Rejects with a TypeError for what no channel
   * carries as a message (as Node's `process.send()` throws): inside the envelope such a value
   * would vanish and the receiver would see a malformed envelope.
   */
  sendUser(data: unknown, handle?: unknown): Promise<void> {
    const type = typeof data;
    if (type === "undefined" || type === "function" || type === "symbol") {
      return Promise.reject(
        new TypeError(
          `Cannot send ${type === "undefined" ? "undefined" : `a ${type}`}: a message is a ` +
            "string, number, boolean, null, an object or an array (send null for nothing)",
        ),
      );
    }
    if (this.#closed) return Promise.reject(this.#closed);
    return this.#send(needsEnvelope(data) ? encodeUser(this.#token, data) : data, handle, false);
  }

  /** Sends an internal message that expects no reply. */
  sendInternal(message: InternalMessage, handle?: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    return this.#send(encodeInternal(this.#token, message), handle, true);
  }

  /**
   * Sends an internal message built with a fresh `seq` and resolves with the reply whose
   * `ack` matches. Rejects when the channel closes first.
   */
  request(
    build: (seq: number) => InternalMessage,
    handle?: unknown,
  ): Promise<{ reply: unknown; handle: unknown }> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      this.#ask(build(this.#seq + 1), handle, (error, reply, handle) => {
        if (error) reject(error);
        else resolve({ reply, handle });
      });
    });
  }

  /**
   * Hands a connection over: sends `newconn` with the connection as handle and calls `done`
   * once, with the worker's reply, or with an error (lost, channel closed, send failed). The
   * round-robin path of every connection: a callback, no promise (issue #10). With `receipt`
   * (the runtime has `handoffReceipts`; not with a `head`) the runtime's acknowledgement of
   * the handle answers for the worker; `tried` names the workers that handed it back before.
   */
  handoff(
    key: string,
    head: string | undefined,
    connection: unknown,
    done: Settle,
    receipt = false,
    tried?: readonly number[],
  ): void {
    // Never synchronously: the caller may be in the middle of its own bookkeeping.
    const closed = this.#closed;
    if (closed) return queueMicrotask(() => done(closed));
    const seq = this.#seq + 1;
    if (receipt && head === undefined) {
      const message: InternalMessage = tried === undefined
        ? { cmd: "newconn", seq, key, receipt }
        : { cmd: "newconn", seq, key, receipt, tried: [...tried] };
      return this.#ask(message, connection, done, {
        delivered: () => void this.settle(seq, RECEIVED, undefined),
        lost: (error) => {
          if (this.#pending.delete(seq)) done(error);
        },
      });
    }
    const message: InternalMessage = head === undefined
      ? { cmd: "newconn", seq, key }
      : { cmd: "newconn", seq, key, head };
    this.#ask(message, connection, done);
  }

  /** Sends `message` (numbered `#seq + 1`) and keeps `done` until its answer. */
  #ask(message: InternalMessage, handle: unknown, done: Settle, receipt?: HandleReceipt): void {
    const seq = ++this.#seq;
    if (message.cmd === "newconn") {
      this.#handoffs.push(seq);
      this.#handoffSentAt.push(performance.now());
      this.#handoffKey = message.key;
      if (this.#probe === undefined) this.#armProbe(PROBE_MS);
    }
    this.#pending.set(seq, done);
    const fail = (error: Error) => {
      if (this.#pending.delete(seq)) done(error);
    };
    try {
      this.#send(encodeInternal(this.#token, message), handle, true, receipt).catch(fail);
    } catch (error) {
      queueMicrotask(() => fail(error as Error));
    }
  }

  /** Settles the request `ack` answers. Returns false for an unknown `ack` (caller reports). */
  settle(ack: number, reply: unknown, handle: unknown): boolean {
    const pending = this.#pending.get(ack);
    if (!pending) return false;
    this.#pending.delete(ack);
    const handoffs = this.#handoffs;
    // Workers answer in order: the answered handoff is almost always the oldest.
    for (let i = 0; i < handoffs.length && handoffs[i] <= ack; i++) {
      if (handoffs[i] === ack) {
        this.#answered(i);
        break;
      }
    }
    pending(undefined, reply, handle);
    return true;
  }

  /** The handoff at `index` was answered: every earlier one still unanswered was lost. */
  #answered(index: number): void {
    if (index === 0) {
      // The common case: shift() does not allocate the array splice() returns.
      this.#handoffs.shift();
      this.#handoffSentAt.shift();
      return;
    }
    const lost = this.#handoffs.splice(0, index + 1);
    this.#handoffSentAt.splice(0, index + 1);
    for (let i = 0; i < index; i++) {
      const seq = lost[i];
      const settle = this.#pending.get(seq);
      if (!settle) continue; // settled or failed meanwhile
      this.#pending.delete(seq);
      settle(new Error(`Handoff ${seq} was lost: the worker answered a later one first`));
    }
  }

  /**
   * Runs while handoffs wait: once the oldest has been unanswered for PROBE_MS, a probe goes
   * behind the latest; else it waits for what remains of the oldest's PROBE_MS.
   */
  #armProbe(ms: number): void {
    // One timer at most: the probe's own send arms one too (review R6: each probe started a
    // second chain, without bound while a slow worker kept handoffs waiting).
    if (this.#probe !== undefined) clearTimeout(this.#probe);
    const timer = setTimeout(() => {
      this.#probe = undefined;
      if (this.#handoffs.length === 0 || this.#closed) return;
      const waited = performance.now() - this.#handoffSentAt[0];
      if (this.#probing) return this.#armProbe(PROBE_MS);
      if (waited < PROBE_MS) return this.#armProbe(Math.max(1, PROBE_MS - waited));
      // A stalled worker answers the probe after the handoffs before it: nothing is lost then.
      this.#probing = true;
      this.#ask({ cmd: "newconn", seq: this.#seq + 1, key: this.#handoffKey }, undefined, () => {
        this.#probing = false;
      });
      this.#armProbe(PROBE_MS);
    }, ms);
    (timer as { unref?: () => void }).unref?.();
    this.#probe = timer;
  }

  /** Marks the channel closed and rejects every pending request. Idempotent. */
  close(reason = "the IPC channel closed"): void {
    if (this.#closed) return;
    this.#closed = new ClusterError("CHANNEL_CLOSED", `Cannot send: ${reason}`);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#handoffs = [];
    this.#handoffSentAt = [];
    if (this.#probe !== undefined) clearTimeout(this.#probe);
    this.#probe = undefined;
    for (const settle of pending) settle(this.#closed);
  }
}

/**
 * Whether user data must travel in an envelope. A message without the envelope key already
 * decodes as user data (protocol.ts), so most are sent as they are: the envelope (key, 32-hex
 * token) more than doubled the bytes of a 64 B message, which Node serializes, writes and
 * parses, and cost about a third of the pipelined rate at 64 B and 1 KiB (issue #10). Wrapped
 * are objects with the envelope key, which would decode as ours, and objects whose `cmd`
 * starts with "NODE_", which every runtime routes to its internal handlers instead of
 * `message`.
 */
function needsEnvelope(data: unknown): boolean {
  if (typeof data !== "object" || data === null) return false;
  if (Object.hasOwn(data, ENVELOPE_KEY)) return true;
  const cmd = (data as { cmd?: unknown }).cmd;
  return typeof cmd === "string" && cmd.startsWith("NODE_");
}
