/**
 * What a worker does with the messages its primary sends: the part of Node's
 * lib/internal/cluster/child.js that answers `newconn` (take a handed-over connection), the
 * reply to a request, and `disconnect`; plus our `lend` (send this worker's listen socket to a
 * replacement during a reload). `src/child.ts` keeps the worker's API and calls
 * {@linkcode onPrimaryMessage} for each message.
 *
 * @module
 */

import type { Channel } from "./_channel.ts";
import type { LoadReporter } from "./_load_reporter.ts";
import { fromBase64 } from "./_sticky_bytes.ts";
import { ClusterError } from "./errors.ts";
import { decodeAtWorker, type PrimaryToWorker } from "./protocol.ts";
import type { Adapter, WorkerServer } from "./types.ts";

/** What the handling of the primary's messages reads from, and does on, its worker. */
export interface ChildState {
  /** The worker's servers, by query key. */
  readonly servers: ReadonlyMap<string, WorkerServer>;
  /** Servers being started, by key, until they are in `servers` (or failed: `undefined`). */
  readonly starting: ReadonlyMap<string, Promise<WorkerServer | undefined>>;
  /** The round-robin load reporter, once the worker has a round-robin server. */
  load(): LoadReporter | undefined;
  /** A user message (and its handle) for the worker's `message` listeners. */
  message(data: unknown, handle: unknown): void;
  /** A dropped message, for the worker's `error` listeners. */
  error(error: Error): void;
  /** The primary asked this worker to stop. */
  disconnect(): void;
}

/**
 * Handles one message from the primary: `raw` as the adapter received it, with its handle.
 *
 * @example
 * ```ts ignore
 * adapter.connectParent({ message: (raw, handle) => onPrimaryMessage(state, adapter, channel, token, raw, handle) });
 * ```
 */
export function onPrimaryMessage(
  state: ChildState,
  adapter: Adapter,
  channel: Channel,
  token: string,
  raw: unknown,
  handle: unknown,
): void {
  const decoded = decodeAtWorker(raw, token);
  if (decoded.kind === "user") {
    state.message(decoded.data, handle);
    return;
  }
  if (decoded.kind === "invalid") {
    if (handle !== undefined) adapter.discard(handle);
    state.error(new ClusterError("BAD_MESSAGE", `Dropped a message: ${decoded.reason}`));
    return;
  }
  onInternal(state, adapter, channel, decoded.message, handle);
}

function onInternal(
  state: ChildState,
  adapter: Adapter,
  channel: Channel,
  m: PrimaryToWorker,
  handle: unknown,
): void {
  switch (m.cmd) {
    case "reply":
      if (!channel.settle(m.ack, m, handle)) {
        state.error(new ClusterError("BAD_MESSAGE", `Reply to unknown request ${m.ack}`));
      }
      return;
    case "newconn": {
      const server = state.servers.get(m.key);
      const head = m.head === undefined ? undefined : fromBase64(m.head);
      const accepted = handle !== undefined && (server?.accept(handle, head) ?? false);
      // The runtime acknowledged the handle already, and that answered for this worker.
      if (m.receipt && handle !== undefined) {
        state.load()?.received(m.key);
        if (!accepted) handBack(adapter, channel, m.key, m.tried, handle);
        return;
      }
      if (!accepted && handle !== undefined) adapter.discard(handle);
      const active = state.load()?.replied(m.key);
      if (active === undefined) {
        channel.sendInternal({ cmd: "reply", ack: m.seq, accepted }).catch(() => {});
        return;
      }
      channel.sendInternal({ cmd: "reply", ack: m.seq, accepted, active }).catch(() => {});
      return;
    }
    case "lend":
      lend(state, channel, m.key, m.seq);
      return;
    case "disconnect":
      state.disconnect();
  }
}

/**
 * Gives a refused connection back to the primary, which routes it again: the primary closed
 * its copy once the handle was acknowledged. Ours is closed once written (the descriptor is
 * then in the message; child_process never closes a raw handle it sent).
 */
function handBack(
  adapter: Adapter,
  channel: Channel,
  key: string,
  tried: readonly number[] | undefined,
  handle: unknown,
): void {
  const message = tried === undefined
    ? { cmd: "returned" as const, key }
    : { cmd: "returned" as const, key, tried: [...tried] };
  const close = () => adapter.discard(handle);
  channel.sendInternal(message, handle).then(close, close);
}

/** Answers a `lend`: the listen socket of server `key`, or a refusal. */
function lend(state: ChildState, channel: Channel, key: string, seq: number): void {
  const send = (server: WorkerServer | undefined) => {
    const listenHandle = server?.listenHandle;
    const refuse = () => channel.sendInternal({ cmd: "reply", ack: seq, accepted: false });
    if (listenHandle === undefined) refuse().catch(() => {});
    // A runtime may refuse to send this kind of handle (Bun's http.Server): say no, not
    // hang.
    else {
      channel.sendInternal({ cmd: "reply", ack: seq, accepted: true }, listenHandle)
        .catch(() => refuse().catch(() => {}));
    }
  };
  const answer = (late: boolean): void => {
    const starting = state.servers.has(key) ? undefined : state.starting.get(key);
    if (starting !== undefined) starting.then(send);
    else if (state.servers.has(key) || late) send(state.servers.get(key));
    // The query's reply may have come in the same read: its server is marked as starting
    // only once the reply's continuation ran, after this turn.
    else setTimeout(() => answer(true), 0);
  };
  answer(false);
}
