// npm/package.json: deno.json's name, version and exports, the repository package.json's
// metadata, and the fields older tools read (main, module, types).

import type { Config } from "./config.ts";
import { npmExports } from "./exports.ts";

/**
 * The commands the package installs (`npx @x/cluster`, `bunx @x/cluster`, `x-cluster`), by the
 * deno.json export they run. The ES module build: cli.ts starts with `#!/usr/bin/env node`,
 * which tsc keeps, and npm makes the file executable when it links the command.
 */
export const BINS: Readonly<Record<string, string>> = Object.freeze({ "x-cluster": "./cli" });

/** Metadata copied from the repository's package.json when it has them. */
const COPIED_FIELDS = ["author", "repository", "homepage", "bugs", "keywords"] as const;

/**
 * The package.json of the npm package.
 *
 * @example
 * ```ts
 * import { readConfig, writeJson } from "./config.ts";
 * import { packageJsonFor } from "./package_json.ts";
 *
 * writeJson("npm/package.json", packageJsonFor(readConfig(".")));
 * ```
 */
export function packageJsonFor(config: Config): Record<string, unknown> {
  const main = config.entries.find((entry) => entry.key === ".")!;
  const bin: Record<string, string> = {};
  for (const [name, key] of Object.entries(BINS)) {
    const entry = config.entries.find((e) => e.key === key);
    if (entry) bin[name] = `./esm/${entry.base}.js`;
  }
  const copied = Object.fromEntries(
    COPIED_FIELDS.filter((key) => config.packageJson[key] !== undefined)
      .map((key) => [key, config.packageJson[key]]),
  );
  return {
    name: config.name,
    version: config.version,
    ...(config.description ? { description: config.description } : {}),
    ...(config.license ? { license: config.license } : {}),
    ...copied,
    type: "module",
    main: `./script/${main.base}.js`,
    module: `./esm/${main.base}.js`,
    types: `./esm/${main.base}.d.ts`,
    exports: npmExports(config.entries),
    ...(Object.keys(bin).length ? { bin } : {}),
    engines: { node: ">=20" },
  };
}
