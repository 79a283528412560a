// `x-cluster status [--json]`, `x-cluster reload`, `x-cluster scale <n>`, `x-cluster stop`: the
// commands that talk to a running primary through its control socket (`--control <path>`, else
// the "control" of the config file in the current directory, else the default one of this user,
// _control_path.ts). Exit status: 0 when the primary did it, 1
// when it refused or none answers, 2 for a bad command line.

import process from "node:process";
import { parseArgs } from "node:util";
import { loadConfig } from "./_config.ts";
import { sendRequest } from "./_control_client.ts";
import { defaultControlPath } from "./_control_path.ts";
import type { ControlRequest } from "./_control_protocol.ts";
import { statusTable } from "./_status.ts";
import { UsageError } from "./_usage_error.ts";
import { integer } from "./_values.ts";
import path from "node:path";

/** The usage line of each command. */
export const CONTROL_USAGE: Readonly<Record<ControlRequest["cmd"], string>> = {
  status: "x-cluster status [--json] [--control <path>]",
  reload: "x-cluster reload [--control <path>]",
  scale: "x-cluster scale <n> [--control <path>]",
  stop: "x-cluster stop [--control <path>]",
};

/** What each command prints when the primary did it. */
const DONE: Record<Exclude<ControlRequest["cmd"], "status">, string> = {
  reload: "reloaded",
  scale: "scaled",
  stop: "stopping",
};

/**
 * Runs the control command `command` with the rest of the command line `args`; resolves with
 * the exit status. Throws a {@linkcode UsageError} for a bad command line.
 *
 * @example
 * ```ts ignore
 * import { runControlCommand } from "./_control_command.ts";
 * process.exitCode = await runControlCommand("scale", ["4"]);
 * ```
 */
export async function runControlCommand(
  command: ControlRequest["cmd"],
  args: readonly string[],
): Promise<number> {
  let values: { json?: boolean; control?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      options: {
        json: { type: "boolean" },
        control: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    const quoted = /'([^']+)'/.exec(message)?.[1] ?? message.split("\n")[0];
    const what = code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
      ? `unknown option ${quoted}`
      : code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
      ? `${quoted.split(" ")[0]} needs a value`
      : message.split("\n")[0];
    throw new UsageError(`${what}: usage is ${CONTROL_USAGE[command]}`);
  }
  if (values.help) {
    process.stdout.write(`Usage: ${CONTROL_USAGE[command]}\n`);
    return 0;
  }
  if (values.json && command !== "status") {
    throw new UsageError(`--json is for x-cluster status only: usage is ${CONTROL_USAGE[command]}`);
  }
  let request: ControlRequest;
  if (command === "scale") {
    if (positionals.length !== 1) {
      throw new UsageError(`scale needs one worker count: usage is ${CONTROL_USAGE.scale}`);
    }
    request = { cmd: "scale", workers: integer(1)(positionals[0], "scale <n>") };
  } else {
    if (positionals.length) {
      throw new UsageError(
        `unexpected argument ${positionals[0]}: usage is ${CONTROL_USAGE[command]}`,
      );
    }
    request = { cmd: command } as ControlRequest;
  }
  // As the run finds it: --control, else the config file's "control", else the default.
  const socket = values.control !== undefined
    ? path.resolve(values.control)
    : loadConfig(process.cwd())?.settings.control ?? defaultControlPath();
  let reply;
  try {
    reply = await sendRequest(socket, request);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === "ENOENT" || code === "ECONNREFUSED"
      ? "no x-cluster runs there (start one, or give its --control <path>)"
      : code === "EACCES"
      ? "permission denied (it belongs to another user)"
      : (error as Error).message;
    process.stderr.write(`x-cluster ${command}: cannot reach ${socket}: ${why}\n`);
    return 1;
  }
  if (!reply.ok) {
    process.stderr.write(`x-cluster ${command}: ${reply.error}\n`);
    return 1;
  }
  if (command === "status") {
    const text = values.json ? JSON.stringify(reply.status) : statusTable(reply.status!).join("\n");
    process.stdout.write(`${text}\n`);
  } else {
    process.stdout.write(`${reply.message ?? DONE[command]}\n`);
  }
  return 0;
}
