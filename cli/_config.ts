// The config file, so that a deployment is reproducible: `x-cluster.json`, or the "x-cluster"
// key of `package.json` or `deno.json`, in the current directory (or the file `--config`
// names). Its keys are the settings' names (_options.ts); relative paths in it (script, watch)
// are relative to the file. Options on the command line win over it (_settings.ts).

import { readFileSync } from "node:fs";
import path from "node:path";
import { OPTIONS, SCRIPT_KEYS, type Settings } from "./_options.ts";
import { UsageError } from "./_usage_error.ts";

/** The key that holds x-cluster's settings inside package.json or deno.json. */
export const CONFIG_KEY = "x-cluster";

/** The file names looked for in the current directory, in this order. */
export const CONFIG_FILES: readonly string[] = ["x-cluster.json", "package.json", "deno.json"];

/** Settings read from a config file. */
export interface Config {
  /** Where they came from, as error messages name it: `x-cluster.json`, `package.json "x-cluster"`. */
  source: string;
  settings: Partial<Settings>;
}

/** A host file (package.json, deno.json) keeps the settings under a key; others are them. */
function isHostFile(file: string): boolean {
  const name = path.basename(file);
  return name === "package.json" || name === "deno.json";
}

/** The settings object in `file`, or `undefined` if a host file has no such key. */
function readObject(file: string, label: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).message;
    throw new UsageError(`cannot read the config file ${label}: ${code}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // deno.json may be JSONC: one without our key is not ours to judge.
    if (isHostFile(file) && !text.includes(`"${CONFIG_KEY}"`)) return undefined;
    const hint = isHostFile(file)
      ? " (comments are not read: put the settings in x-cluster.json)"
      : "";
    throw new UsageError(`${label} is not valid JSON: ${(error as Error).message}${hint}`);
  }
  const object = isHostFile(file) ? (json as Record<string, unknown>)?.[CONFIG_KEY] : json;
  if (object === undefined && isHostFile(file)) return undefined;
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    const where = isHostFile(file) ? `${label} "${CONFIG_KEY}"` : label;
    throw new UsageError(`${where} must be an object of settings, e.g. { "workers": 4 }`);
  }
  return object as Record<string, unknown>;
}

/** Checks every key of `object` and parses its value; paths become absolute (from `dir`). */
function settingsOf(
  object: Record<string, unknown>,
  source: string,
  dir: string,
): Partial<Settings> {
  const settings: Record<string, unknown> = {};
  const keys = [...OPTIONS.map((o) => o.key), ...SCRIPT_KEYS.map((o) => o.key)];
  for (const [key, value] of Object.entries(object)) {
    const spec = OPTIONS.find((o) => o.key === key) ?? SCRIPT_KEYS.find((o) => o.key === key);
    if (!spec) {
      throw new UsageError(`${source}: unknown key "${key}": the keys are ${keys.join(", ")}`);
    }
    settings[key] = spec.parse(value, `${source}: "${key}"`);
  }
  const result = settings as Partial<Settings>;
  if (result.script !== undefined) result.script = path.resolve(dir, result.script);
  if (result.watch !== undefined) result.watch = result.watch.map((p) => path.resolve(dir, p));
  if (result.control !== undefined) result.control = path.resolve(dir, result.control);
  return result;
}

/**
 * Reads the config: the file `explicit` names, else the one of {@linkcode CONFIG_FILES} in
 * `cwd` that has settings (`undefined` if none does). Throws a {@linkcode UsageError} for an
 * unreadable file, bad JSON, an unknown key or a bad value, and when two files have settings
 * (which one wins would be a guess).
 *
 * @example
 * ```ts ignore
 * import { loadConfig } from "./_config.ts";
 * const config = loadConfig(process.cwd());
 * console.log(config?.source, config?.settings.workers);
 * ```
 */
export function loadConfig(cwd: string, explicit?: string): Config | undefined {
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit);
    const object = readObject(file, explicit);
    if (object === undefined) {
      throw new UsageError(`${explicit} has no "${CONFIG_KEY}" key: add one, or name another file`);
    }
    const source = isHostFile(file) ? `${explicit} "${CONFIG_KEY}"` : explicit;
    return { source, settings: settingsOf(object, source, path.dirname(file)) };
  }
  const found: Config[] = [];
  for (const name of CONFIG_FILES) {
    const file = path.join(cwd, name);
    let object;
    try {
      object = readObject(file, name);
    } catch (error) {
      // A file that is not there is no config; a broken one is an error.
      if (error instanceof UsageError && /: ENOENT$/.test(error.message)) continue;
      throw error;
    }
    if (object === undefined) continue;
    const source = isHostFile(file) ? `${name} "${CONFIG_KEY}"` : name;
    found.push({ source, settings: settingsOf(object, source, cwd) });
  }
  if (found.length > 1) {
    throw new UsageError(
      `settings in both ${found.map((c) => c.source).join(" and ")}: keep them in one place`,
    );
  }
  return found[0];
}
