// The settings of a run: the defaults, then the config file, then the command line (which wins;
// `env` is merged variable by variable). Paths become absolute here, and must exist.

import { existsSync } from "node:fs";
import path from "node:path";
import type { CommandLine } from "./_args.ts";
import { type Config, loadConfig } from "./_config.ts";
import { DEFAULT_SETTINGS, type Settings } from "./_options.ts";
import { UsageError } from "./_usage_error.ts";

/** Settings with the script known. */
export type RunSettings = Settings & { script: string };

/** `settings` without its `undefined` entries, so that spreading it keeps what is below. */
function given(settings: Partial<Settings> | undefined): Partial<Settings> {
  return Object.fromEntries(Object.entries(settings ?? {}).filter(([, v]) => v !== undefined));
}

/**
 * Layers the settings: defaults < config file < command line. `env` is merged per variable;
 * every other setting is replaced whole (the command line's `--watch` replaces the file's).
 *
 * @example
 * ```ts
 * import { mergeSettings } from "./_settings.ts";
 * const s = mergeSettings({ workers: 2, env: { A: "1" } }, { env: { B: "2" } });
 * console.log(s.workers, s.env); // 2 { A: "1", B: "2" }
 * ```
 */
export function mergeSettings(
  config: Partial<Settings> | undefined,
  flags: Partial<Settings>,
): Settings {
  return {
    ...DEFAULT_SETTINGS,
    ...given(config),
    ...given(flags),
    env: { ...DEFAULT_SETTINGS.env, ...config?.env, ...flags.env },
  };
}

/**
 * The settings of a run from its command line and the config file in `cwd` (or the one
 * `--config` names). Throws a {@linkcode UsageError} when no script is given or a path does not
 * exist.
 *
 * @example
 * ```ts ignore
 * import { parseCommandLine } from "./_args.ts";
 * import { resolveSettings } from "./_settings.ts";
 * const { settings } = resolveSettings(parseCommandLine(["server.js"]), process.cwd());
 * console.log(settings.script); // /abs/path/server.js
 * ```
 */
export function resolveSettings(
  commandLine: CommandLine,
  cwd: string,
): { settings: RunSettings; config: Config | undefined } {
  const config = loadConfig(cwd, commandLine.config);
  const flags = { ...commandLine.settings };
  if (flags.script !== undefined) flags.script = path.resolve(cwd, flags.script);
  if (flags.watch !== undefined) flags.watch = flags.watch.map((p) => path.resolve(cwd, p));
  if (flags.control !== undefined) flags.control = path.resolve(cwd, flags.control);
  const settings = mergeSettings(config?.settings, flags);
  const { script } = settings;
  if (script === undefined) {
    throw new UsageError(
      "missing <script>: usage is x-cluster [options] <script> [-- script args], " +
        "e.g. x-cluster -w auto server.js",
    );
  }
  if (!existsSync(script)) {
    throw new UsageError(`script not found: ${script}: give the path of the server to run`);
  }
  for (const watched of settings.watch) {
    if (!existsSync(watched)) {
      throw new UsageError(`--watch: ${watched} does not exist: watch a file or a directory`);
    }
  }
  return { settings: { ...settings, script }, config };
}
