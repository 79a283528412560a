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

import { ClusterError } from "./errors.ts";
import { encodeInternal, encodeUser, ENVELOPE_KEY, type InternalMessage } from "./protocol.ts";

/**
 * Writes one message. `keepOpen` false lets the runtime close the sender's copy of a socket
 * once sent (Node's default for user sends); internal handoffs keep it until the worker acks.
 */
type RawSend = (message: unknown, handle: unknown, keepOpen: boolean) => Promise<void>;

interface Pending {
  resolve(value: { reply: unknown; handle: unknown }): void;
  reject(error: Error): void;
}

/** How long a handoff waits for its answer before a probe is sent behind it (ms). */
export const PROBE_MS = 1000;

/** One side of an IPC channel: envelopes, `seq` numbering and pending replies. */
export class Channel {
  #token: string;
  #send: RawSend;
  #seq = 0;
  #pending = new Map<number, Pending>();
  #closed: Error | undefined;
  /** Unanswered `newconn` requests, oldest first: seq and key. */
  #handoffs: { seq: number; key: string }[] = [];
  #probe: { timer: ReturnType<typeof setTimeout>; oldest: number } | undefined;
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
    const seq = ++this.#seq;
    const message = build(seq);
    if (message.cmd === "newconn") {
      this.#handoffs.push({ seq, key: message.key });
      this.#watchHandoffs();
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      const fail = (error: unknown) => {
        if (this.#pending.delete(seq)) reject(error);
      };
      try {
        this.#send(encodeInternal(this.#token, message), handle, true).catch(fail);
      } catch (error) {
        fail(error);
      }
    });
  }

  /** Settles the request `ack` answers. Returns false for an unknown `ack` (caller reports). */
  settle(ack: number, reply: unknown, handle: unknown): boolean {
    const pending = this.#pending.get(ack);
    if (!pending) return false;
    this.#pending.delete(ack);
    if (this.#handoffs.some((h) => h.seq === ack)) this.#answered(ack);
    pending.resolve({ reply, handle });
    return true;
  }

  /** `ack` answered a handoff: every earlier one still unanswered was lost. */
  #answered(ack: number): void {
    const handoffs = this.#handoffs;
    let n = 0;
    while (n < handoffs.length && handoffs[n].seq <= ack) n++;
    for (const { seq } of handoffs.splice(0, n)) {
      const lost = this.#pending.get(seq);
      if (!lost) continue; // settled or failed meanwhile
      this.#pending.delete(seq);
      lost.reject(new Error(`Handoff ${seq} was lost: the worker answered a later one first`));
    }
    this.#watchHandoffs();
  }

  /** Keeps one timer while handoffs wait: no answer for PROBE_MS sends a probe behind them. */
  #watchHandoffs(): void {
    const oldest = this.#handoffs[0]?.seq;
    if (oldest === undefined || this.#closed) {
      if (this.#probe) clearTimeout(this.#probe.timer);
      this.#probe = undefined;
      return;
    }
    if (this.#probe?.oldest === oldest) return;
    if (this.#probe) clearTimeout(this.#probe.timer);
    const timer = setTimeout(() => {
      this.#probe = undefined;
      if (this.#handoffs[0]?.seq !== oldest || this.#probing) return this.#watchHandoffs();
      // A stalled worker answers the probe after the handoffs before it: nothing is lost then.
      this.#probing = true;
      const { key } = this.#handoffs[this.#handoffs.length - 1];
      this.request((seq) => ({ cmd: "newconn", seq, key })).then(
        () => (this.#probing = false),
        () => (this.#probing = false),
      );
    }, PROBE_MS);
    (timer as { unref?: () => void }).unref?.();
    this.#probe = { timer, oldest };
  }

  /** Marks the channel closed and rejects every pending request. Idempotent. */
  close(reason = "the IPC channel closed"): void {
    if (this.#closed) return;
    this.#closed = new ClusterError("CHANNEL_CLOSED", `Cannot send: ${reason}`);
    for (const pending of this.#pending.values()) pending.reject(this.#closed);
    this.#pending.clear();
    this.#handoffs = [];
    this.#watchHandoffs();
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
