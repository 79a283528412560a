// What a CLI worker tells the CLI's primary, as user messages of the public API
// (`Cluster.worker.send()` → the cluster's `message` event), under one key that user messages
// do not use: where a Deno.serve / Bun.serve server listens (the primary only learns of
// node:http servers from the core), and notices the primary prints once, however many workers
// send them.

/** The key of every CLI message. */
export const CLI_MESSAGE_KEY = "@x/cluster/cli";

/** A message from a CLI worker to the CLI's primary. */
export type CliMessage =
  /** The CLI setup of the worker is done and its channel is up. */
  | { [CLI_MESSAGE_KEY]: "booted" }
  | { [CLI_MESSAGE_KEY]: "listening"; engine: string; hostname: string; port: number }
  | { [CLI_MESSAGE_KEY]: "notice"; text: string }
  /** Formatted output of the worker, for the live view (_live_view.ts). */
  | { [CLI_MESSAGE_KEY]: "output"; stream: "stdout" | "stderr"; text: string };

/**
 * The CLI message in `message`, or `undefined` if it is the user's.
 *
 * @example
 * ```ts
 * import { CLI_MESSAGE_KEY, cliMessage } from "./_messages.ts";
 * cliMessage({ [CLI_MESSAGE_KEY]: "notice", text: "hi" })?.text; // "hi"
 * ```
 */
export function cliMessage(message: unknown): CliMessage | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const kind = (message as Record<string, unknown>)[CLI_MESSAGE_KEY];
  const m = message as Record<string, unknown>;
  if (kind === "booted") return message as CliMessage;
  if (kind === "notice" && typeof m.text === "string") return message as CliMessage;
  if (
    kind === "output" && typeof m.text === "string" &&
    (m.stream === "stdout" || m.stream === "stderr")
  ) return message as CliMessage;
  if (
    kind === "listening" && typeof m.engine === "string" && typeof m.hostname === "string" &&
    typeof m.port === "number"
  ) return message as CliMessage;
  return undefined;
}
