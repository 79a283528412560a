// The most telling line of a worker's stderr, for the error a failed worker produces: its last
// error message (not a stack frame, not a line of source code the runtime echoed), without
// terminal escapes, with the file and line it points at.

// deno-lint-ignore no-control-regex -- terminal colour codes (Deno colours even into a pipe)
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
/** A caret line under echoed source: `^`, `~~~`. */
const CARET = /^[\^~]+$/;
/** A code frame line as Deno and Bun print it: `12 | const x = ;`. */
const CODE_FRAME = /^\d*\s*\|/;
/** A stack frame with a file location: `at f (file:///a.ts:1:2)`, `at /a.ts:1:2`. */
const FRAME = /^at (?:.*\()?((?:file:\/\/|\/)[^()\s]+:\d+(?::\d+)?)\)?$/;
/** Node's heading of a code frame: `file:///a.ts:1`. */
const NODE_HEADING = /^(?:file:\/\/|\/)\S+:\d+$/;

/**
 * The most telling line of a worker's stderr, with the location it points at.
 *
 * @example
 * ```ts
 * import { errorLine } from "./_error_line.ts";
 * errorLine("Error: crash at start\n    at file:///w.ts:1:7\n");
 * // "Error: crash at start (file:///w.ts:1:7)"
 * ```
 */
export function errorLine(stderr: string): string {
  const lines = stderr.replace(ANSI, "").split("\n").map((line) => line.trim()).filter(Boolean);
  const echoed = (i: number) =>
    CARET.test(lines[i]) || CODE_FRAME.test(lines[i]) || CARET.test(lines[i + 1] ?? "");
  let at = -1;
  for (let i = lines.length - 1; i >= 0 && at < 0; i--) {
    if (/error/i.test(lines[i]) && !lines[i].startsWith("at ") && !echoed(i)) at = i;
  }
  if (at < 0) return lines.slice(-3).join(" | ");
  const message = lines[at];
  const where = locationOf(lines, at, echoed);
  return where && !message.includes(where) ? `${message} (${where})` : message;
}

/** Where the error at `lines[at]` points: the first file frame after it, or Node's heading. */
function locationOf(
  lines: string[],
  at: number,
  echoed: (i: number) => boolean,
): string | undefined {
  for (let i = at + 1; i < lines.length; i++) {
    const frame = FRAME.exec(lines[i]);
    if (frame) return frame[1];
    if (!lines[i].startsWith("at ") && !echoed(i) && /error/i.test(lines[i])) break;
  }
  for (let i = at - 1; i >= Math.max(0, at - 4); i--) {
    if (NODE_HEADING.test(lines[i])) return lines[i];
  }
  return undefined;
}
