// A CLI worker's own output, prefixed with its id (or as JSON lines): its process.stdout and
// process.stderr writes go through a LineFormatter. The public API gives the primary no access
// to a worker's output streams (the adapter passes them through or keeps a tail of stderr), so
// the prefix is added in the worker. What a worker writes past JavaScript's streams is not
// prefixed: the runtime's own report of an uncaught error, Deno.stdout / Bun.stdout writes, and
// the output of child processes that inherit its descriptors.

import { Buffer } from "node:buffer";
import { Console } from "node:console";
import process from "node:process";
import { LineFormatter, type LogSource, type StreamName } from "./_log.ts";
import type { LogFormat } from "./_values.ts";

type Write = (chunk: unknown, encoding?: unknown, callback?: unknown) => boolean;

/**
 * Where formatted output goes instead of the worker's own stream: the primary's live view
 * (_live_view.ts) gets it over IPC, so that it can print it above its table.
 */
export type OutputSink = (stream: StreamName, text: string) => void;

/** Replaces `stream.write` with one that writes formatted lines; returns the flush. */
function formatStream(
  name: StreamName,
  format: LogFormat,
  source: LogSource,
  sink: OutputSink | undefined,
): () => void {
  const stream = process[name] as unknown as { write: Write };
  const own = stream.write.bind(stream) as Write;
  const write: Write = sink
    ? (text, callback) => {
      sink(name, text as string);
      if (typeof callback === "function") queueMicrotask(() => (callback as () => void)());
      return true;
    }
    : own;
  const formatter = new LineFormatter(format, source, name);
  const decoder = new TextDecoder();
  stream.write = (chunk, encoding, callback) => {
    const done = typeof encoding === "function" ? encoding : callback;
    const text = typeof chunk === "string"
      ? typeof encoding === "string" && !/^utf-?8$/i.test(encoding)
        ? Buffer.from(chunk, encoding as BufferEncoding).toString("utf8")
        : chunk
      : decoder.decode(chunk as Uint8Array, { stream: true });
    const out = formatter.push(text);
    if (out !== "") return write(out, done);
    // A JSON line still unfinished: nothing to write yet, but the caller waits for its callback.
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  };
  return () => {
    const rest = formatter.flush();
    if (rest !== "") write(rest);
  };
}

/**
 * Formats this worker's output from now on: every line of process.stdout and process.stderr,
 * and `console` (which on Deno and Bun writes past process.stdout, and which must not color a
 * JSON line). With `sink`, the formatted text goes there instead of to the streams.
 *
 * @example
 * ```ts ignore
 * import process from "node:process";
 * import { formatWorkerOutput } from "./_stdio.ts";
 * formatWorkerOutput("text", { worker: 3, pid: process.pid });
 * console.log("hello"); // [w3] hello
 * ```
 */
export function formatWorkerOutput(
  format: LogFormat,
  source: LogSource,
  sink?: OutputSink,
): void {
  const flushes = (["stdout", "stderr"] as const).map((name) =>
    formatStream(name, format, source, sink)
  );
  process.once("exit", () => flushes.forEach((flush) => flush()));
  const nativeConsole = "Deno" in globalThis || "Bun" in globalThis;
  if (!nativeConsole && format === "text") return; // Node's console writes to process.stdout.
  const formatted = new Console({
    stdout: process.stdout,
    stderr: process.stderr,
    colorMode: format === "json" ? false : "auto",
  });
  const target = console as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(formatted)) {
    if (typeof value === "function" && typeof target[key] === "function") target[key] = value;
  }
}
