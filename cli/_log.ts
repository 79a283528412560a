// How output lines look: `[w3] …` for worker 3 and `[x-cluster] …` for the primary (text), or
// one JSON object per line: {"time", "worker" (null for the primary), "pid", "stream",
// "message"} (json). Used by the workers for their own output (_stdio.ts) and by the primary
// for its messages.

import type { LogFormat } from "./_values.ts";

/** Who writes. */
export interface LogSource {
  /** The worker's id; `undefined` for the primary. */
  worker: number | undefined;
  pid: number;
}

/** The stream a line was written to. */
export type StreamName = "stdout" | "stderr";

/**
 * Turns the chunks written to one stream into formatted lines. Text lines are prefixed as they
 * come (a line written in pieces is prefixed once); a JSON line is written once complete, so an
 * unfinished line waits for its end or for {@linkcode LineFormatter.flush}.
 *
 * @example
 * ```ts
 * import { LineFormatter } from "./_log.ts";
 * const f = new LineFormatter("text", { worker: 3, pid: 1234 }, "stdout");
 * f.push("hello\nwor"); // "[w3] hello\n[w3] wor"
 * f.push("ld\n"); // "ld\n"
 * ```
 */
export class LineFormatter {
  #format: LogFormat;
  #source: LogSource;
  #stream: StreamName;
  #prefix: string;
  #atLineStart = true;
  #partial = "";

  /** A formatter of `source`'s writes to `stream`. */
  constructor(format: LogFormat, source: LogSource, stream: StreamName) {
    this.#format = format;
    this.#source = source;
    this.#stream = stream;
    this.#prefix = source.worker === undefined ? "[x-cluster] " : `[w${source.worker}] `;
  }

  /** The text to write for `chunk`. */
  push(chunk: string): string {
    if (chunk === "") return "";
    if (this.#format === "text") {
      const start = this.#atLineStart ? this.#prefix : "";
      this.#atLineStart = chunk.endsWith("\n");
      // Every line break followed by more text starts a prefixed line.
      return start + chunk.replace(/\n(?=[^])/g, `\n${this.#prefix}`);
    }
    const lines = (this.#partial + chunk).split("\n");
    this.#partial = lines.pop()!;
    return lines.map((line) => this.json(line)).join("");
  }

  /** The unfinished line, if any (json); call it before the process exits. */
  flush(): string {
    if (this.#format === "text" || this.#partial === "") return "";
    const line = this.#partial;
    this.#partial = "";
    return this.json(line);
  }

  /** One JSON line for `message`. */
  json(message: string): string {
    return JSON.stringify({
      time: new Date().toISOString(),
      worker: this.#source.worker ?? null,
      pid: this.#source.pid,
      stream: this.#stream,
      message: message.endsWith("\r") ? message.slice(0, -1) : message,
    }) + "\n";
  }
}

/**
 * The primary's messages, in the run's log format, written with `write` (to stderr).
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { Logger } from "./_log.ts";
 * const log = new Logger("text", process.pid, (text) => process.stderr.write(text));
 * log.info("2 workers ready"); // [x-cluster] 2 workers ready
 * ```
 */
export class Logger {
  #format: LogFormat;
  #formatter: LineFormatter;
  #write: (text: string) => void;

  /** A logger for the primary `pid`. */
  constructor(format: LogFormat, pid: number, write: (text: string) => void) {
    this.#format = format;
    this.#formatter = new LineFormatter(format, { worker: undefined, pid }, "stderr");
    this.#write = write;
  }

  /** Sends the lines to `write` from now on (the live view's). */
  redirect(write: (text: string) => void): void {
    this.#write = write;
  }

  /** Writes `message` as the primary's: each of its lines prefixed, or one JSON line. */
  info(message: string): void {
    const text = message.replace(/\n+$/, "");
    this.#write(
      this.#format === "json" ? this.#formatter.json(text) : this.#formatter.push(`${text}\n`),
    );
  }
}
