// The live view: when the primary's stdout is a terminal, the status table (_status.ts) stays at
// the bottom of the screen and is redrawn in place every second, like `pm2 monit`; log lines (the
// primary's, and the workers', which reach the primary over IPC in this mode, see _worker.ts)
// scroll above it. Each redraw moves the cursor up over the table it drew last, clears to the
// end of the screen and writes the new lines and the table in one write. Table lines are cut to
// the terminal's width, so that none wraps and the count of lines to move over stays right.

import type { Status } from "./_status.ts";
import { statusTable } from "./_status.ts";

/** How often the table is redrawn without news (ms). */
export const REFRESH_MS = 1000;

/** The terminal the view draws on. */
export interface Terminal {
  write(text: string): unknown;
  /** Its width, when known. */
  readonly columns?: number;
}

/**
 * The live view of one run.
 *
 * @example
 * ```ts ignore
 * import process from "node:process";
 * import { LiveView } from "./_live_view.ts";
 * const view = new LiveView(process.stdout, () => run.status());
 * view.start();
 * view.line("[x-cluster] 2 workers ready");
 * ```
 */
export class LiveView {
  #terminal: Terminal;
  #status: () => Status;
  #drawn = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #partial = new Map<string, string>();
  #stopped = false;

  /** A view on `terminal` of what `status` returns. */
  constructor(terminal: Terminal, status: () => Status) {
    this.#terminal = terminal;
    this.#status = status;
  }

  /** Draws the table and redraws it every {@linkcode REFRESH_MS}. */
  start(): void {
    this.#draw("");
    this.#timer = setInterval(() => this.#draw(""), REFRESH_MS);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Writes `text` (whole lines) above the table; plain lines once stopped. */
  line(text: string): void {
    if (this.#stopped) this.#terminal.write(text);
    else this.#draw(text);
  }

  /** A piece of a worker's output (`source` says whose stream): complete lines go above. */
  output(source: string, text: string): void {
    const buffered = (this.#partial.get(source) ?? "") + text;
    const end = buffered.lastIndexOf("\n") + 1;
    this.#partial.set(source, buffered.slice(end));
    if (end > 0) this.line(buffered.slice(0, end));
  }

  /** Draws the table a last time and leaves it on the screen; later lines go below it. */
  stop(): void {
    if (this.#stopped) return;
    clearInterval(this.#timer);
    const rest = [...this.#partial.values()].filter(Boolean).map((t) => `${t}\n`).join("");
    this.#draw(rest);
    this.#stopped = true;
  }

  #draw(lines: string): void {
    let table: string[];
    try {
      table = statusTable(this.#status());
    } catch (error) {
      table = [`(no status: ${(error as Error).message})`];
    }
    const width = Math.max(20, (this.#terminal.columns ?? 120) - 1);
    const cut = table.map((line) => (line.length > width ? line.slice(0, width) : line));
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}F` : "\r";
    this.#terminal.write(`${up}\x1b[J${lines}${cut.join("\n")}\n`);
    this.#drawn = cut.length;
  }
}
