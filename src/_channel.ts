// Request/reply over one IPC channel: Node's `sendHelper`/`internal` pair from
// lib/internal/cluster/utils.js, with the `seq` counter and the callback table kept per channel
// (Node keeps one module-global counter and table for all workers).

import { ClusterError } from "./errors.ts";
import { encodeInternal, encodeUser, type InternalMessage } from "./protocol.ts";

/**
 * Writes one message. `keepOpen` false lets the runtime close the sender's copy of a socket
 * once sent (Node's default for user sends); internal handoffs keep it until the worker acks.
 */
type RawSend = (message: unknown, handle: unknown, keepOpen: boolean) => Promise<void>;

interface Pending {
  resolve(value: { reply: unknown; handle: unknown }): void;
  reject(error: Error): void;
}

/** One side of an IPC channel: envelopes, `seq` numbering and pending replies. */
export class Channel {
  #token: string;
  #send: RawSend;
  #seq = 0;
  #pending = new Map<number, Pending>();
  #closed: Error | undefined;

  constructor(token: string, send: RawSend) {
    this.#token = token;
    this.#send = send;
  }

  /** Requests in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Sends a user message inside an envelope. Rejects with a TypeError for what no channel
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
    return this.#send(encodeUser(this.#token, data), handle, false);
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
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      const fail = (error: unknown) => {
        if (this.#pending.delete(seq)) reject(error);
      };
      try {
        this.#send(encodeInternal(this.#token, build(seq)), handle, true).catch(fail);
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
    pending.resolve({ reply, handle });
    return true;
  }

  /** Marks the channel closed and rejects every pending request. Idempotent. */
  close(reason = "the IPC channel closed"): void {
    if (this.#closed) return;
    this.#closed = new ClusterError("CHANNEL_CLOSED", `Cannot send: ${reason}`);
    for (const pending of this.#pending.values()) pending.reject(this.#closed);
    this.#pending.clear();
  }
}
