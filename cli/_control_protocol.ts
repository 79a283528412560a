// The control socket's protocol: the client writes one JSON line, the primary answers with one
// JSON line and closes the connection. Requests: {"cmd": "status"}, {"cmd": "reload"},
// {"cmd": "scale", "workers": N}, {"cmd": "stop"}. Replies: {"ok": true, …} or
// {"ok": false, "error": "<what went wrong and what to do>"}. Anything else a client sends is
// answered with an error reply (never a crash of the primary).

import type { Status } from "./_status.ts";

/** The longest request line accepted (bytes before the newline). */
export const MAX_REQUEST_BYTES = 4096;

/** A request the primary understands. */
export type ControlRequest =
  | { cmd: "status" }
  | { cmd: "reload" }
  | { cmd: "scale"; workers: number }
  | { cmd: "stop" };

/** The primary's reply. */
export type ControlReply =
  | { ok: true; status?: Status; message?: string }
  | { ok: false; error: string };

/** The commands, as `x-cluster <command>` names them. */
export const CONTROL_COMMANDS: readonly ControlRequest["cmd"][] = [
  "status",
  "reload",
  "scale",
  "stop",
];

/**
 * Parses one request line; returns the request, or the error message to reply with.
 *
 * @example
 * ```ts
 * import { parseRequest } from "./_control_protocol.ts";
 * parseRequest('{"cmd":"scale","workers":4}'); // { cmd: "scale", workers: 4 }
 * parseRequest("hello"); // "the request is not JSON: …"
 * ```
 */
export function parseRequest(line: string): ControlRequest | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return `the request is not JSON: send one line like {"cmd":"status"}`;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return `the request must be a JSON object like {"cmd":"status"}`;
  }
  const { cmd, workers } = value as { cmd?: unknown; workers?: unknown };
  if (typeof cmd !== "string" || !(CONTROL_COMMANDS as readonly string[]).includes(cmd)) {
    return `unknown "cmd" ${JSON.stringify(cmd)}: use one of ${CONTROL_COMMANDS.join(", ")}`;
  }
  if (cmd === "scale") {
    if (!(typeof workers === "number" && Number.isSafeInteger(workers) && workers >= 1)) {
      return `"scale" needs "workers", an integer >= 1: got ${JSON.stringify(workers)}`;
    }
    return { cmd, workers };
  }
  return { cmd } as ControlRequest;
}
