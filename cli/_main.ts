// What `x-cluster …` does with its command line: help, version, a control command (status,
// reload, scale, stop: the first word names it), or a run; every UsageError becomes one line on
// stderr and exit status 2.

import process from "node:process";
import { parseCommandLine } from "./_args.ts";
import { runControlCommand } from "./_control_command.ts";
import { CONTROL_COMMANDS, type ControlRequest } from "./_control_protocol.ts";
import { helpText } from "./_help.ts";
import { Logger } from "./_log.ts";
import { runPrimary } from "./_primary.ts";
import { nodeTooOld, runtimeName } from "./_runtime.ts";
import { resolveSettings } from "./_settings.ts";
import { UsageError } from "./_usage_error.ts";
import { VERSION } from "./_version.ts";

/**
 * Runs the command line `args`; resolves with the exit status. `self` is the URL of the CLI
 * module, which the workers preload.
 *
 * @example
 * ```ts ignore
 * import { runCommandLine } from "./_main.ts";
 * const status = await runCommandLine(["--version"], "file:///app/cli.ts"); // prints 0.1.0
 * ```
 */
export async function runCommandLine(args: readonly string[], self: string): Promise<number> {
  const tooOld = runtimeName() === "node" ? nodeTooOld(process.versions.node) : undefined;
  if (tooOld) {
    process.stderr.write(`${tooOld}\n`);
    return 1;
  }
  try {
    const command = CONTROL_COMMANDS.find((name) => name === args[0]);
    if (command) return await runControlCommand(command as ControlRequest["cmd"], args.slice(1));
    const commandLine = parseCommandLine(args);
    if (commandLine.help) {
      process.stdout.write(`${helpText()}\n`);
      return 0;
    }
    if (commandLine.version) {
      process.stdout.write(`x-cluster ${VERSION}\n`);
      return 0;
    }
    const { settings } = resolveSettings(commandLine, process.cwd());
    const log = new Logger(settings.logFormat, process.pid, (text) => process.stderr.write(text));
    return await runPrimary(settings, self, log);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`x-cluster: ${error.message}\n`);
    return 2;
  }
}
