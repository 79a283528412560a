// `x-cluster --help`: every option with its default, from the table in _options.ts.

import { CONFIG_FILES, CONFIG_KEY } from "./_config.ts";
import { OPTIONS } from "./_options.ts";

const WIDTH = 96;
const INDENT = "        ";

/** An option's names on one line, then its help (and default) wrapped below them. */
function line(flags: string, help: string, defaultValue?: string): string {
  const text = defaultValue === undefined ? help : `${help} (default: ${defaultValue})`;
  const lines = [`  ${flags}`];
  let current = INDENT;
  for (const word of text.split(" ")) {
    if (current.length + word.length > WIDTH && current.trim() !== "") {
      lines.push(current.trimEnd());
      current = INDENT;
    }
    current += `${word} `;
  }
  lines.push(current.trimEnd());
  return lines.join("\n");
}

/**
 * The text of `x-cluster --help`.
 *
 * @example
 * ```ts
 * import { helpText } from "./_help.ts";
 * console.log(helpText());
 * ```
 */
export function helpText(): string {
  const options = OPTIONS.map((o) => {
    const names = o.value
      ? `${o.short ? `-${o.short}, ` : "    "}--${o.flag} ${o.value}`
      : `    --${o.flag}, --no-${o.flag}`;
    return line(names, o.help, o.default);
  });
  const [file, ...hosts] = CONFIG_FILES;
  return [
    "Usage: x-cluster [options] <script> [-- script args]",
    "       x-cluster status [--json] | reload | scale <n> | stop   [--control <path>]",
    "",
    "Runs <script>, unchanged, in a cluster of worker processes that share its port:",
    "node:http and node:net servers (express, koa, fastify, hono's node adapter) through the",
    "listen hook of @x/cluster/compat; Deno.serve and Bun.serve on SO_REUSEPORT sockets",
    "(Linux). Everything after <script> is passed to it.",
    "",
    "Options:",
    ...options,
    line(
      "-c, --config <file>",
      `the config file`,
      `${file}, or the "${CONFIG_KEY}" key of ` +
        `${hosts.join(" or ")}, in the current directory`,
    ),
    line("-h, --help", "print this help and exit"),
    line("-v, --version", "print the version and exit"),
    "",
    `Config file: a JSON object whose keys are the long option names in camelCase`,
    `(readyTimeout, logFormat, …; env an object, watch a list) plus "script" and "args".`,
    "Options on the command line win; env is merged variable by variable.",
    "Durations are in ms unless a unit is given (500ms, 30s, 2m).",
    "",
    "Commands: status prints the workers' table (--json: as JSON), reload replaces every",
    "worker, scale <n> sets the worker count, stop stops gracefully. They talk to a running",
    "x-cluster through its control socket (--control, or this user's default one); a script",
    "named like a command is run as ./status.",
    "",
    "Signals: SIGTERM and SIGINT stop gracefully, SIGHUP reloads every worker one slot at a",
    "time, SIGTTIN and SIGTTOU add and remove a worker.",
    "Exit status: 0 after a requested stop, 1 after a crash loop or a failed start, 2 for a",
    "bad command line or config file.",
    "",
    "Deno workers get --unstable-net (Deno.serve's reusePort needs it) and the permissions",
    "the primary has in full. Docs: docs/cli.md.",
  ].join("\n");
}
