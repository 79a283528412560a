// A command line or config file the CLI cannot run: printed as one line, exit code 2.

/**
 * A bad option, value or config file. Its message is the whole line the CLI prints after
 * `x-cluster: `: what is wrong, and what would be right.
 *
 * @example
 * ```ts
 * import { UsageError } from "./_usage_error.ts";
 * throw new UsageError('--workers must be a positive integer or "auto": got "x"');
 * ```
 */
export class UsageError extends Error {
  /** Creates the error; `message` must be one line. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
