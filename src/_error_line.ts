// The most telling line of a worker's stderr, for the error a failed worker produces.

/**
 * The most telling line of a worker's stderr: its last error message, not a stack frame.
 *
 * @example
 * ```ts
 * import { errorLine } from "./_error_line.ts";
 * errorLine("Error: crash at start\n    at file:///w.ts:1:7\n"); // "Error: crash at start"
 * ```
 */
export function errorLine(stderr: string): string {
  const lines = stderr.split("\n").map((line) => line.trim()).filter(Boolean);
  const errors = lines.filter((line) => /error/i.test(line) && !line.startsWith("at "));
  return errors[errors.length - 1] ?? lines.slice(-3).join(" | ");
}
