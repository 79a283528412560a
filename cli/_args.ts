// The command line: `x-cluster [options] <script> [-- script args]`, parsed with node:util's
// parseArgs (on Node, Deno and Bun alike) from the option table in _options.ts. Everything
// after the script belongs to the script, as with `node script.js …`; a `--` right after the
// script is dropped.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { OPTIONS, type Settings } from "./_options.ts";
import { UsageError } from "./_usage_error.ts";

/** What the command line asks for. */
export interface CommandLine {
  /** `-h`, `--help`. */
  help: boolean;
  /** `-v`, `--version`. */
  version: boolean;
  /** `-c`, `--config`: the config file to read instead of looking in the cwd. */
  config: string | undefined;
  /** The settings the command line gives (only those it gives). */
  settings: Partial<Settings>;
}

/** Options of the command line that configure the CLI itself, not the run. */
const OWN_OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
  config: { type: "string", short: "c" },
} as const;

type ParseOptions = NonNullable<ParseArgsConfig["options"]>;

function parseOptions(): ParseOptions {
  const options: ParseOptions = { ...OWN_OPTIONS };
  for (const spec of OPTIONS) {
    options[spec.flag] = {
      type: spec.value ? "string" : "boolean",
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  return options;
}

const USAGE = "x-cluster [options] <script> [-- script args]";

/**
 * Parses `args` (the command line without the runtime and the CLI's own path). Throws a
 * {@linkcode UsageError} for an unknown option, a missing or bad value, or a missing script.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./_args.ts";
 * const { settings } = parseCommandLine(["-w", "4", "server.js", "--", "--port", "3000"]);
 * console.log(settings.workers, settings.script, settings.args); // 4 server.js [--port, 3000]
 * ```
 */
export function parseCommandLine(args: readonly string[]): CommandLine {
  const options = parseOptions();
  // Where the script is: the first positional (or what follows a `--` before it). Found with a
  // lenient pass, then the options before it are parsed strictly.
  const { tokens } = parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = tokens.find((t) => t.kind === "positional" || t.kind === "option-terminator");
  const split = first?.index ?? args.length;
  const scriptAt = first?.kind === "option-terminator" ? split + 1 : split;
  const script = args[scriptAt];
  let rest = args.slice(scriptAt + 1);
  if (rest[0] === "--") rest = rest.slice(1);

  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: args.slice(0, split),
      options,
      strict: true,
      allowPositionals: false,
      allowNegative: true,
    }));
  } catch (error) {
    throw new UsageError(describeParseError(error as Error & { code?: string }));
  }
  const settings: Partial<Settings> = {};
  const assign = settings as Record<string, unknown>;
  for (const spec of OPTIONS) {
    const value = values[spec.flag];
    if (value !== undefined) assign[spec.key] = spec.parse(value, `--${spec.flag}`);
  }
  if (script !== undefined) {
    settings.script = script;
    settings.args = rest;
  }
  return {
    help: values.help === true,
    version: values.version === true,
    config: values.config as string | undefined,
    settings,
  };
}

/** One line for parseArgs' error: which option, and what would be right. */
function describeParseError(error: Error & { code?: string }): string {
  const firstLine = error.message.split("\n")[0];
  const quoted = /'([^']+)'/.exec(firstLine)?.[1] ?? "";
  const long = /--([\w-]+)/.exec(quoted)?.[1];
  const short = /^-(\w)\b/.exec(quoted)?.[1];
  const own = Object.entries(OWN_OPTIONS)
    .find(([name, o]) => name === long || ("short" in o && o.short === short))?.[0];
  const spec = OPTIONS.find((s) => s.flag === long || (short && s.short === short));
  const flag = spec ? `--${spec.flag}` : own ? `--${own}` : long ? `--${long}` : quoted;
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return `unknown option ${quoted}: usage is ${USAGE} (options of the script go after it); ` +
      "see x-cluster --help";
  }
  if (error.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (spec && !spec.value) return `${flag} takes no value: use ${flag} or --no-${spec.flag}`;
    if (own === "help" || own === "version") return `${flag} takes no value`;
    // "argument missing", or "ambiguous": the next word is an option, not this one's value.
    const value = spec?.value ?? "<file>";
    return `${flag} needs a value: ${flag} ${value}`;
  }
  return `${firstLine}; see x-cluster --help`;
}
