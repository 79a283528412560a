// The package's export map in its two forms: deno.json's (JSR: subpath -> .ts source) and
// npm/package.json's (subpath -> import/require conditions on the compiled files), and a check
// that the two agree, after honojs/hono's build/validate-exports.ts (which checks one direction;
// this one checks both, and the targets too).

import type { Entry } from "./config.ts";

/** The conditions of one npm export: each format with its own declarations. */
export interface NpmExport {
  import: { types: string; default: string };
  require: { types: string; default: string };
}

/** The npm subpath that is not a module: tools read the package's own package.json through it. */
const PACKAGE_JSON_EXPORT = "./package.json";

/**
 * The npm `exports` for deno.json's entries. Each format gets its own declarations:
 * script/*.d.ts sit next to script/package.json ("type": "commonjs"), so TypeScript sees
 * CommonJS types for require() consumers.
 *
 * @example
 * ```ts
 * import { npmExports } from "./exports.ts";
 *
 * npmExports([{ key: ".", source: "mod.ts", base: "mod" }])["."];
 * // { import: { types: "./esm/mod.d.ts", default: "./esm/mod.js" }, require: { … } }
 * ```
 */
export function npmExports(entries: Entry[]): Record<string, NpmExport | string> {
  const map: Record<string, NpmExport | string> = {};
  for (const entry of entries) map[entry.key] = npmExport(entry.source);
  map[PACKAGE_JSON_EXPORT] = PACKAGE_JSON_EXPORT;
  return map;
}

function npmExport(source: string): NpmExport {
  const base = source.replace(/^\.\//, "").replace(/\.ts$/, "");
  return {
    import: { types: `./esm/${base}.d.ts`, default: `./esm/${base}.js` },
    require: { types: `./script/${base}.d.ts`, default: `./script/${base}.js` },
  };
}

/**
 * Compares deno.json's `exports` (subpath -> .ts file) with a package.json's `exports`: every
 * JSR subpath must be an npm subpath whose four targets are the compiled forms of the same
 * source, and every npm subpath but "./package.json" must be a JSR subpath.
 *
 * @returns one message per disagreement; empty when the maps agree.
 * @example
 * ```ts
 * import { compareExportMaps } from "./exports.ts";
 *
 * compareExportMaps({ ".": "./mod.ts", "./compat": "./compat.ts" }, { ".": {} });
 * // ['npm exports lack "./compat" (deno.json: ./compat.ts)', 'npm export "." …']
 * ```
 */
export function compareExportMaps(
  jsr: Record<string, string>,
  npm: Record<string, unknown>,
): string[] {
  const problems: string[] = [];
  for (const [key, source] of Object.entries(jsr)) {
    if (!(key in npm)) {
      problems.push(`npm exports lack "${key}" (deno.json: ${source})`);
      continue;
    }
    const want = npmExport(source);
    const got = npm[key] as Partial<Record<string, Partial<Record<string, unknown>>>>;
    for (const condition of ["import", "require"] as const) {
      for (const kind of ["types", "default"] as const) {
        const target = typeof got === "object" && got ? got[condition]?.[kind] : undefined;
        if (target !== want[condition][kind]) {
          problems.push(
            `npm export "${key}" ${condition}.${kind} is ${JSON.stringify(target)}, ` +
              `expected "${want[condition][kind]}" (compiled from deno.json's ${source})`,
          );
        }
      }
    }
  }
  for (const key of Object.keys(npm)) {
    if (key !== PACKAGE_JSON_EXPORT && !(key in jsr)) {
      problems.push(`npm export "${key}" is not in deno.json's exports`);
    }
  }
  return problems;
}
