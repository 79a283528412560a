// What the npm build reads: deno.json (name, version, exports, the source of truth) and
// package.json (description and the other metadata npm shows).

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BuildError } from "./_run.ts";

/** The repository this script belongs to: its node_modules has tsc, node and @types/node. */
export const TOOL_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** Files copied into the package beside the compiled code. */
export const PUBLISHED_FILES: readonly string[] = ["README.md", "LICENSE"];

/** One entry of deno.json `exports`, e.g. `{ key: "./compat", source: "compat.ts" }`. */
export interface Entry {
  /** The export's subpath, "." or "./name". */
  key: string;
  /** Source path relative to the root, without "./", e.g. "compat.ts". */
  source: string;
  /** Output path relative to esm/ or script/, without extension, e.g. "compat". */
  base: string;
}

/** Everything the build needs to know about the package. */
export interface Config {
  /** The checkout being built. */
  root: string;
  name: string;
  version: string;
  /** deno.json's exports, "." first as deno.json lists it. */
  entries: Entry[];
  /** The repository's package.json, for metadata. */
  packageJson: Record<string, unknown>;
  description?: string;
  license?: string;
}

/**
 * Reads a JSON file, or throws a {@linkcode BuildError} that names it.
 *
 * @example
 * ```ts
 * import { readJson } from "./config.ts";
 *
 * console.log(readJson("deno.json").version);
 * ```
 */
export function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new BuildError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/**
 * Writes `value` as indented JSON with a final newline.
 *
 * @example
 * ```ts
 * import { writeJson } from "./config.ts";
 *
 * writeJson("npm/script/package.json", { type: "commonjs" });
 * ```
 */
export function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
}

/**
 * The package's name, version and export entries from `root`'s deno.json, with metadata from its
 * package.json. Throws a {@linkcode BuildError} for an export that is not an existing .ts file.
 *
 * @example
 * ```ts
 * import { readConfig } from "./config.ts";
 *
 * const config = readConfig(".");
 * console.log(config.entries.map((entry) => entry.key));
 * ```
 */
export function readConfig(root: string): Config {
  const denoJson = readJson(path.join(root, "deno.json"));
  const packageJsonFile = path.join(root, "package.json");
  const packageJson = fs.existsSync(packageJsonFile) ? readJson(packageJsonFile) : {};
  if (packageJson.type !== "module") {
    // The ESM build uses module nodenext, which takes the output format from this field.
    throw new BuildError(`${packageJsonFile} must have "type": "module"`);
  }
  const name = String(denoJson.name ?? packageJson.name ?? "");
  const version = String(denoJson.version ?? packageJson.version ?? "");
  if (!name || !version) throw new BuildError("deno.json must have a name and a version");

  const entries: Entry[] = [];
  for (const [key, target] of Object.entries(jsrExports(denoJson))) {
    if (!/\.ts$/.test(target)) {
      throw new BuildError(`deno.json export ${key} must point to a .ts file, got ${target}`);
    }
    const source = path.posix.normalize(target).replace(/^\.\//, "");
    if (source.startsWith("../")) throw new BuildError(`export ${key} points outside the root`);
    if (!fs.existsSync(path.join(root, source))) {
      throw new BuildError(`deno.json export ${key} -> ${target}: file not found`);
    }
    entries.push({ key, source, base: source.replace(/\.ts$/, "") });
  }
  if (!entries.some((entry) => entry.key === ".")) {
    throw new BuildError('deno.json exports must have a "." entry');
  }
  return {
    root,
    name,
    version,
    entries,
    packageJson,
    description: (denoJson.description ?? packageJson.description) as string | undefined,
    license: (denoJson.license ?? packageJson.license) as string | undefined,
  };
}

/**
 * deno.json's `exports` as a map from subpath to file (a lone string is the "." export).
 * Throws a {@linkcode BuildError} for a target that is not a string.
 *
 * @example
 * ```ts
 * import { jsrExports } from "./config.ts";
 *
 * jsrExports({ exports: "./mod.ts" }); // { ".": "./mod.ts" }
 * ```
 */
export function jsrExports(denoJson: Record<string, unknown>): Record<string, string> {
  const raw = denoJson.exports;
  const map = typeof raw === "string" ? { ".": raw } : (raw as Record<string, unknown>) ?? {};
  for (const [key, target] of Object.entries(map)) {
    if (typeof target !== "string") {
      throw new BuildError(`deno.json export ${key} must be a path string, got ${target}`);
    }
  }
  return map as Record<string, string>;
}

/**
 * Fails early when a file that is published with the package (README.md, LICENSE) is missing.
 *
 * @example
 * ```ts
 * import { checkPublishedFiles } from "./config.ts";
 *
 * checkPublishedFiles(".");
 * ```
 */
export function checkPublishedFiles(root: string): void {
  for (const file of PUBLISHED_FILES) {
    if (!fs.existsSync(path.join(root, file))) {
      throw new BuildError(
        `${file} is missing at the repository root (${root}); it is ` +
          `copied into the npm package, so the build cannot continue without it`,
      );
    }
  }
}
