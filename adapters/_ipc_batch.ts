// Several small messages written as one (issue #10, IPC). Each runtime writes every message of
// a child_process channel on its own (Node: one JSON.stringify and one write syscall per
// message), and at 64 B that per-write cost is most of the price of a message. A burst (the
// messages a process sends in one turn of its event loop, e.g. answers to the messages one read
// brought) is therefore written as one `NODE_XCLUSTER_BATCH` message after the first one: that
// is an internal message to every runtime ("NODE_"-prefixed: no user `message` listener sees
// it), and the receiving endpoint emits the messages it carries one by one, in order, as if
// each had come alone, so that every listener (ours, compat's, a user's own) sees them as sent.
// Measured with bench/_ipc.ts (256 in flight, json), against each runtime's own fork: 64 B
// ×3.5 on Node, ×1.7 on Deno, ×4.7 on Bun (docs/performance.md has the table). Large messages
// gain nothing and lost up to half their rate in batches on Node (a batch of 16 × 16 KiB is one
// 256 KiB line that the receiver must take whole before it parses any): only small plain data
// is batched, and a batch is written once it holds about BATCH_BYTES.

/** The `cmd` of a batch: `{cmd: BATCH, msgs: [...]}`. */
export const BATCH = "NODE_XCLUSTER_BATCH";

/** A message larger than this (estimated, bytes) is written on its own. */
const MESSAGE_BYTES = 2048;
/** A batch is written once its messages reach this size (estimated, bytes)... */
export const BATCH_BYTES = 16384;
/** ...or this many messages. */
export const BATCH_MESSAGES = 64;
/** Values (primitives, objects, arrays) a batched message may hold. */
const MAX_VALUES = 64;
/** How deep a batched message may nest (a batch adds two levels, within every runtime's limit). */
const MAX_DEPTH = 8;

/**
 * The estimated serialized size (bytes) of `value` if it may go in a batch: small plain data
 * (strings, numbers, booleans, null, plain objects and arrays of them), which every
 * serialization writes without throwing, as it would write them alone. Else -1, and the
 * message is written on its own (a value that cannot be sent then fails its own send, as
 * before, instead of a batch of others).
 *
 * @example
 * ```ts
 * batchableSize({ i: 1, d: "x".repeat(64) }); // about 80
 * batchableSize(10n); // -1
 * ```
 */
export function batchableSize(value: unknown): number {
  const budget = { values: MAX_VALUES, bytes: MESSAGE_BYTES };
  return measure(value, 0, budget) ? MESSAGE_BYTES - budget.bytes : -1;
}

function measure(
  value: unknown,
  depth: number,
  budget: { values: number; bytes: number },
): boolean {
  if (--budget.values < 0) return false;
  switch (typeof value) {
    case "string":
      return (budget.bytes -= value.length + 2) >= 0;
    case "number": // NaN and ±Infinity too: JSON writes null for them, alone or in a batch
      return (budget.bytes -= 8) >= 0;
    case "boolean":
      return (budget.bytes -= 5) >= 0;
    case "object":
      break;
    case "undefined": // inside an object or array: dropped or null in JSON, kept by "advanced"
      return depth > 0;
    default:
      return false; // bigint, symbol, function: one serialization or another throws
  }
  if (value === null) return (budget.bytes -= 4) >= 0;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!measure(value[i], depth + 1, budget)) return false;
    }
    return (budget.bytes -= 2) >= 0;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false; // Date, Map, class instances
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false; // inherited enumerable keys: not plain
    budget.bytes -= key.length + 3;
    if (!measure((value as Record<string, unknown>)[key], depth + 1, budget)) return false;
  }
  return (budget.bytes -= 2) >= 0;
}

/** Whether `message` is a batch written by {@linkcode BATCH}'s sender. */
export function isBatch(message: unknown): message is { cmd: typeof BATCH; msgs: unknown[] } {
  return (message as { cmd?: unknown } | null)?.cmd === BATCH &&
    Array.isArray((message as { msgs?: unknown }).msgs);
}

/**
 * Emits each message of a batch on `target` as the runtime emits one that came alone: "NODE_"
 * commands as `internalMessage`, the others as `message`.
 *
 * @example
 * ```ts ignore
 * if (isBatch(message)) emitBatch(process, message.msgs);
 * ```
 */
export function emitBatch(
  target: { emit(event: string, message: unknown, handle: undefined): unknown },
  messages: readonly unknown[],
): void {
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    const cmd = (message as { cmd?: unknown } | null)?.cmd;
    const internal = typeof cmd === "string" && cmd.startsWith("NODE_");
    target.emit(internal ? "internalMessage" : "message", message, undefined);
  }
}
