// One end of a child_process IPC channel as the adapter uses it (a ChildProcess in the primary,
// `process` in a worker): the cheapest send each runtime allows, the checks and workarounds that
// keep a channel from crashing or wedging, and the signs that a channel broke.
//
// - Sending: a message without a handle is written without a callback (Node's callback costs a
//   nextTick and a closure per message, ~1 µs of the ~6 µs our send added to raw fork at 64 B);
//   its promise resolves at once unless the runtime said its write queue is long. From then on
//   one write at a time carries a callback, and the sends made while it is pending are written
//   without one and resolve with it: a sender that awaits each send still waits for a write to
//   complete (so it stays bounded), and a pipelining sender pays no callback per message. A
//   callback on every congested write (as before) cost 8–18 µs CPU per 16 KiB message in the
//   sending process on Node and Deno: a pipelined 16 KiB echo keeps the queue long, so every
//   send took that path (issue #10; docs/performance.md has the measurements).
// - Deno 2.9 loses a handle written while a message before it is still unread by the peer (the
//   peer reads both at once and attaches the descriptor to the first), never acknowledges it and
//   then holds every later send forever (the repro is in docs/reliability.md). On Deno a handle
//   therefore waits until the peer confirmed, by answering a sync message, that it read
//   everything before; later sends wait behind it, in order.
// - Deno 2.9 passes a handle message whose descriptor it could not receive (the process is out
//   of descriptors: EMFILE) to `internalMessage` listeners as it came, `{cmd: "NODE_HANDLE",
//   msg}` without a handle, and sends no acknowledgement: the sender's runtime then holds every
//   later write of the channel for good (Node answers NODE_HANDLE_NACK, and the sender retries
//   three times, then drops it). The endpoint acknowledges such a message itself, which lets
//   the sender's queue go on, and hands our own message in it on without its handle: a
//   `newconn` without a socket is refused at once, so the connection goes to another worker.
//   A user's message that lost its handle is dropped, as Node drops it after its retries.
// - Node throws an uncaught SyntaxError (RangeError for a too deep "advanced" value) out of its
//   channel's read callback when the peer writes bytes that are not a message, killing the
//   process: the read callback is guarded and the channel reported as faulty instead.
// - Bun closes the channel on such bytes without any event: each side announces a close it
//   means, so the owner can tell an unannounced one (`peerClosing`).
// - Node acknowledges every handle it received (NODE_HANDLE_ACK, or NODE_HANDLE_NACK when no
//   descriptor arrived) and sends one handle at a time, so the acknowledgements come in the
//   order of the sends: on Node the endpoint reports them (`HandleReceipt`), which spares a
//   round-robin handoff the worker's own answer (adapters/_node_api.ts says what it saves).

import process from "node:process";
import { ClusterError } from "../src/errors.ts";
import { ENVELOPE_KEY } from "../src/protocol.ts";
import type { HandleReceipt, Serialization } from "../src/types.ts";
import { builtin } from "./_builtins.ts";
import {
  BATCH,
  BATCH_BYTES,
  BATCH_MESSAGES,
  batchableSize,
  emitBatch,
  isBatch,
} from "./_ipc_batch.ts";
import { type SendCheck, sendCheck } from "./_sendable.ts";

type Callback = (error: Error | null) => void;

/** The part of a ChildProcess or of `process` an endpoint uses. */
export interface IpcTarget {
  readonly connected?: boolean;
  send?(message: unknown, handle?: unknown, options?: object, callback?: Callback): boolean;
  disconnect?(): void;
  // deno-lint-ignore no-explicit-any -- each event has its own arguments
  on(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, message: unknown, handle: undefined): unknown;
}

/** What an {@linkcode IpcEndpoint} reports to its owner. */
export interface IpcEvents {
  /** A message (and possibly a handle) arrived. */
  message(message: unknown, handle: unknown): void;
  /** The channel carried bytes that are not a message: it cannot be trusted any more. */
  fault(error: Error): void;
  /** A symbol set (to true) on the listener the endpoint adds for messages. */
  mark?: symbol;
  /**
   * The worker's end: it tells the primary's end at once that it reads batches, and batches
   * its own writes once the primary said it reads them too. The primary's end answers, and
   * batches from then on (before, the worker's runtime would drop a batch: it emits internal
   * messages that come before our listener at once, to nobody).
   */
  announce?: boolean;
}

/** Adapter-to-adapter messages; runtimes route `NODE_`-prefixed ones to `internalMessage`. */
const SYNC = "NODE_XCLUSTER_SYNC";
const SYNC_ACK = "NODE_XCLUSTER_SYNC_ACK";
const CLOSING = "NODE_XCLUSTER_CLOSING";
/** "I read batches" (adapters/_ipc_batch.ts): the worker's end says it, the primary's answers. */
const BATCHES = "NODE_XCLUSTER_BATCHES";
/** Node's handle protocol: a message with a handle, and its acknowledgement. */
const HANDLE = "NODE_HANDLE";
const HANDLE_ACK = "NODE_HANDLE_ACK";
const HANDLE_NACK = "NODE_HANDLE_NACK";
/** NACKs after which Node gives a handle sent without keepOpen up (MAX_HANDLE_RETRANSMISSIONS). */
const HANDLE_RETRANSMISSIONS = 3;

/** A handle written and not yet acknowledged by the peer's runtime (Node). */
interface SentHandle {
  receipt: HandleReceipt | undefined;
  /** Node retransmits a handle sent without keepOpen on a NACK; one kept open it drops. */
  keepOpen: boolean;
  nacks: number;
}

/** Without a callback: Node then reports a failed write nowhere (the channel's close follows). */
const QUIET = { swallowErrors: true };
/** With a callback, which gets the error of a failed write. */
const KEEP_OPEN = { keepOpen: true };
/** Both: a handoff, whose receipt reports the outcome. */
const KEEP_OPEN_QUIET = { keepOpen: true, swallowErrors: true };
const CALLBACK = {};
const RESOLVED = Promise.resolve();

/** One end of an IPC channel. */
export class IpcEndpoint {
  /**
   * Endpoints whose batch is not written yet: written in the process's `exit` listener, so that
   * `send(a); send(b); process.exit()` still sends both, as each runtime's own writes do (a
   * send in an `exit` listener goes out on Node, Deno and Bun).
   */
  static #unwritten = new Set<IpcEndpoint>();
  static #exitHooked = false;
  #target: IpcTarget;
  #check: SendCheck | undefined;
  /** Deno: handles wait until the peer read every message before them. */
  #barrier: boolean;
  /** The runtime said its write queue is long: sends resolve once a write completed. */
  #congested = false;
  /** While congested: the pending write with a callback that later sends resolve with. */
  #writing: { promise: Promise<void> } | undefined;
  /** A message without a handle was written (by us or by the runtime) and may be unread. */
  #unread = false;
  /** Sends waiting behind a handle that waits for the peer, in order. */
  #queue: (() => void)[] | undefined;
  #syncs = new Map<number, { resolve(): void; reject(error: Error): void }>();
  #syncId = 0;
  #peerClosing = false;
  /** Deno: acknowledges handle messages whose descriptor was lost (see the file's header). */
  #ackLost: boolean;
  #events: IpcEvents;
  /** Node: the handles written and not yet acknowledged, oldest first. */
  #sentHandles: SentHandle[] | undefined;
  /** The peer said it reads batches. */
  #peerBatches = false;
  #announces: boolean;
  /** A message was written in this turn of the event loop: the next small ones are batched. */
  #burst = false;
  #batch: unknown[] = [];
  #batchBytes = 0;
  #endBurst = (): void => {
    this.#burst = false;
    this.#flush();
  };

  constructor(target: IpcTarget, runtime: string, serialization: Serialization, events: IpcEvents) {
    this.#target = target;
    this.#check = sendCheck(runtime, serialization);
    this.#barrier = runtime === "deno";
    this.#ackLost = runtime === "deno";
    this.#sentHandles = runtime === "node" ? [] : undefined;
    this.#events = events;
    this.#announces = events.announce === true;
    const onMessage = (message: unknown, handle: unknown) => {
      // Receiving a handle made our runtime write its acknowledgement.
      if (handle !== undefined) this.#unread = true;
      events.message(message, handle);
    };
    // A layer that wraps user listeners of `process` (compat) tells ours apart by this mark.
    if (events.mark) Object.defineProperty(onMessage, events.mark, { value: true });
    target.on("message", onMessage);
    target.on(
      "internalMessage",
      (message: { cmd?: unknown; id?: unknown; msg?: unknown }, handle: unknown) =>
        this.#onInternal(message, handle),
    );
    target.on("disconnect", () => this.#onClosed());
    guardReads(target, events.fault);
    if (this.#announces) this.#announce();
  }

  /** Whether the peer announced that it is closing the channel. */
  get peerClosing(): boolean {
    return this.#peerClosing;
  }

  /**
   * Sends a message (and optionally a handle). Resolves once handed to the channel; rejects
   * with a TypeError for a value that cannot be sent, or CHANNEL_CLOSED. With `keepOpen`
   * false a socket handle is closed once sent.
   */
  send(
    message: unknown,
    handle: unknown,
    keepOpen: boolean,
    receipt?: HandleReceipt,
  ): Promise<void> {
    if (this.#queue) {
      return new Promise((resolve, reject) => {
        this.#queue!.push(() =>
          this.send(message, handle, keepOpen, receipt).then(resolve, reject)
        );
      });
    }
    if (handle !== undefined && this.#barrier && this.#unread) {
      this.#queue = [];
      const sent = this.#afterSync(message, handle, keepOpen, receipt);
      sent.then(() => this.#drain(), () => this.#drain());
      return sent;
    }
    return this.#write(message, handle, keepOpen, receipt);
  }

  /** Announces the close to the peer, then closes the channel (after queued sends). */
  close(): void {
    if (this.#queue) return void this.#queue.push(() => this.close());
    this.#flush();
    const target = this.#target;
    if (!target.connected) return;
    const disconnect = () => {
      if (target.connected) target.disconnect?.();
    };
    try {
      target.send!({ cmd: CLOSING }, undefined, CALLBACK, disconnect);
    } catch {
      disconnect();
    }
  }

  async #afterSync(
    message: unknown,
    handle: unknown,
    keepOpen: boolean,
    receipt: HandleReceipt | undefined,
  ): Promise<void> {
    // Writes our runtime makes meanwhile (handle acknowledgements) set #unread again.
    while (this.#unread) {
      this.#unread = false;
      await new Promise<void>((resolve, reject) => {
        const id = ++this.#syncId;
        this.#syncs.set(id, { resolve, reject });
        // Closed already: no answer will come, and no close is left to report it.
        if (!this.#raw({ cmd: SYNC, id })) {
          this.#syncs.delete(id);
          reject(closedError());
        }
      });
    }
    return this.#write(message, handle, keepOpen, receipt);
  }

  #drain(): void {
    const queue = this.#queue ?? [];
    this.#queue = undefined;
    for (let i = 0; i < queue.length; i++) {
      // A send in the queue may start another wait: the rest queue behind it, in order.
      if (this.#queue) (this.#queue as (() => void)[]).push(queue[i]);
      else queue[i]();
    }
  }

  #write(
    message: unknown,
    handle: unknown,
    keepOpen: boolean,
    receipt: HandleReceipt | undefined,
  ): Promise<void> {
    const target = this.#target;
    if (!target.connected || !target.send) return Promise.reject(closedError());
    let payload = message;
    try {
      if (this.#check) payload = this.#check(message, handle !== undefined);
      if (handle === undefined && !this.#congested) {
        if (this.#batched(payload)) return RESOLVED;
        if (target.send(payload, undefined, QUIET) === false) this.#congested = true;
        this.#unread = true;
        return RESOLVED;
      }
      if (handle === undefined && this.#writing) {
        if (this.#batched(payload)) return this.#writing.promise;
        this.#congested = target.send(payload, undefined, QUIET) === false;
        this.#unread = true;
        return this.#writing.promise;
      }
      // What follows (a handle, or a write with a callback) goes after the batch before it; a
      // handle that waits for Deno's sync first is behind #raw's flush.
      this.#flush();
      if (receipt && this.#sentHandles) {
        // A handoff on Node: its receipt says how it went (a failed write closes the channel,
        // which fails it), so no write callback, promise and closures of its own (issue #10).
        const sent: SentHandle = { receipt, keepOpen, nacks: 0 };
        this.#congested = target.send(payload, handle, keepOpen ? KEEP_OPEN_QUIET : QUIET) ===
          false;
        this.#unread = false;
        this.#sentHandles.push(sent);
        return RESOLVED;
      }
    } catch (error) {
      return Promise.reject(unsendable(error));
    }
    // A socket sent without keepOpen is closed here once the send completed, not by the
    // runtime: Deno may close it before its descriptor was written (the worker gets none).
    const socket = handle !== undefined && !keepOpen && handle instanceof builtin("node:net").Socket
      ? handle
      : undefined;
    let pending = true;
    const write = { promise: RESOLVED };
    const sent: SentHandle | undefined = this.#sentHandles && { receipt, keepOpen, nacks: 0 };
    write.promise = new Promise<void>((resolve, reject) => {
      const done = (error: Error | null) => {
        pending = false;
        if (this.#writing === write) this.#writing = undefined;
        socket?.destroy();
        if (error) {
          // Never written: no acknowledgement will come for it.
          const i = sent ? this.#sentHandles!.indexOf(sent) : -1;
          if (i !== -1) this.#sentHandles!.splice(i, 1);
          reject(error);
        } else resolve();
      };
      try {
        const options = keepOpen || socket ? KEEP_OPEN : CALLBACK;
        this.#congested = target.send!(payload, handle, options, done) === false;
        if (sent && pending) this.#sentHandles!.push(sent);
        // After a handle, the runtime writes nothing until the peer acknowledged it.
        this.#unread = handle === undefined;
      } catch (error) {
        pending = false;
        reject(unsendable(error));
      }
    });
    // Handles keep a callback each (their socket is closed in it, and Deno's barrier waits).
    // A write that already failed or completed (a synchronous callback) is waited for by none.
    if (handle === undefined && pending) this.#writing = write;
    return write.promise;
  }

  /**
   * Whether `payload` went into this turn's batch (adapters/_ipc_batch.ts): the first message
   * of a turn is written at once, as alone (a ping-pong waits for nothing), the next small ones
   * once the turn ends, the batch is full or the process exits. Else the batch before it is
   * written now, and the caller writes `payload` after it.
   */
  #batched(payload: unknown): boolean {
    if (!this.#peerBatches) return false;
    if (!this.#burst) {
      this.#burst = true;
      queueMicrotask(this.#endBurst);
      return false;
    }
    const size = batchableSize(payload);
    if (size < 0) {
      this.#flush();
      return false;
    }
    if (this.#batch.length === 0) IpcEndpoint.#pending(this);
    this.#batch.push(payload);
    this.#batchBytes += size;
    this.#unread = true;
    if (this.#batch.length >= BATCH_MESSAGES || this.#batchBytes >= BATCH_BYTES) this.#flush();
    return true;
  }

  static #pending(endpoint: IpcEndpoint): void {
    IpcEndpoint.#unwritten.add(endpoint);
    if (IpcEndpoint.#exitHooked) return;
    IpcEndpoint.#exitHooked = true;
    process.on("exit", () => {
      for (const unwritten of IpcEndpoint.#unwritten) unwritten.#flush();
    });
  }

  /** Writes the batch, if any: one message as it is, more as one `BATCH` message. */
  #flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    IpcEndpoint.#unwritten.delete(this);
    this.#batch = [];
    this.#batchBytes = 0;
    // A closed channel loses the batch either way; a write on it, with no callback, would be
    // an `error` event on the process (Node, Deno), which nobody may listen to.
    if (!this.#target.connected) return;
    const message = batch.length === 1 ? batch[0] : { cmd: BATCH, msgs: batch };
    try {
      if (this.#target.send?.(message, undefined, QUIET) === false) this.#congested = true;
    } catch {
      // The channel is closing (each value was checked): its close is reported on its own.
    }
  }

  /** Says that this end reads batches: a message like any other for Deno's barrier. */
  #announce(): void {
    if (this.#raw({ cmd: BATCHES })) this.#unread = true;
  }

  /**
   * Writes an adapter message; returns false if the channel was closed (nothing written). A
   * failure of the write itself shows as the channel's close or error.
   */
  #raw(message: { cmd: string; id?: number }): boolean {
    this.#flush(); // in order: the batch first
    // Closed (a worker may disconnect before its package connects): an `error` event otherwise.
    if (!this.#target.connected) return false;
    try {
      this.#target.send?.(message, undefined, QUIET);
    } catch {
      // The channel is closing; #onClosed settles whoever waits.
    }
    return true;
  }

  #onInternal(message: { cmd?: unknown; id?: unknown; msg?: unknown }, handle: unknown): void {
    if (message?.cmd === HANDLE_ACK) {
      this.#sentHandles?.shift()?.receipt?.delivered();
    } else if (message?.cmd === HANDLE_NACK) {
      const sent = this.#sentHandles?.[0];
      if (!sent || (!sent.keepOpen && sent.nacks++ < HANDLE_RETRANSMISSIONS)) return;
      this.#sentHandles!.shift();
      sent.receipt?.lost(new Error("The worker's runtime did not receive the connection"));
    } else if (message?.cmd === HANDLE) {
      if (handle === undefined && this.#ackLost) this.#lostHandle(message.msg);
    } else if (message?.cmd === SYNC) {
      if (this.#raw({ cmd: SYNC_ACK, id: message.id as number })) this.#unread = true;
    } else if (message?.cmd === SYNC_ACK) {
      const waiter = this.#syncs.get(message.id as number);
      this.#syncs.delete(message.id as number);
      waiter?.resolve();
    } else if (message?.cmd === CLOSING) {
      this.#peerClosing = true;
    } else if (isBatch(message)) {
      emitBatch(this.#target, message.msgs);
    } else if (message?.cmd === BATCHES && !this.#peerBatches) {
      this.#peerBatches = true;
      if (!this.#announces) this.#announce(); // the answer
    }
  }

  /** Deno dropped the descriptor of a handle message: acknowledge it, pass ours on without. */
  #lostHandle(inner: unknown): void {
    this.#raw({ cmd: HANDLE_ACK });
    this.#unread = true;
    const ours = typeof inner === "object" && inner !== null && Object.hasOwn(inner, ENVELOPE_KEY);
    if (ours) this.#events.message(inner, undefined);
  }

  #onClosed(): void {
    if (this.#sentHandles) this.#sentHandles.length = 0;
    for (const waiter of this.#syncs.values()) waiter.reject(closedError());
    this.#syncs.clear();
  }
}

function closedError(): ClusterError {
  return new ClusterError("CHANNEL_CLOSED", "Cannot send: the IPC channel is closed");
}

/** What a runtime's send() threw synchronously: always about the value (or handle) given. */
function unsendable(error: unknown): TypeError {
  if (error instanceof TypeError) return error;
  const reason = (error as Error)?.message ?? String(error);
  return new TypeError(`Cannot send this message: ${reason}`, { cause: error });
}

/**
 * Node parses channel data inside its read callback (`child[kChannelHandle].onread`), where a
 * parse error is uncaught. Wrapping it is the only place to catch one; a runtime without that
 * handle (Deno, Bun) reports bad input through its own events instead.
 */
function guardReads(target: IpcTarget, fault: (error: Error) => void): void {
  const key = Object.getOwnPropertySymbols(target).find((s) => s.description === "kChannelHandle");
  const handle = key && (target as unknown as Record<symbol, { onread?: unknown }>)[key];
  if (!handle || typeof handle.onread !== "function") return;
  const onread = handle.onread as (a: unknown, b: unknown, c: unknown) => unknown;
  // Fixed parameters, not `...args` and apply(): an array per read otherwise (issue #10).
  handle.onread = function (this: unknown, a: unknown, b: unknown, c: unknown) {
    try {
      return onread.call(this, a, b, c);
    } catch (error) {
      fault(
        new ClusterError(
          "BAD_MESSAGE",
          "The IPC channel carried data that is not a message " +
            `(${(error as Error)?.message ?? error}): something in the worker wrote to the ` +
            "channel's descriptor; the worker is stopped",
          { cause: error },
        ),
      );
    }
  };
}
