// One file for the core of each output format (issue #10, startup). Node loads an ES module in
// about 0.3–0.4 ms whatever its size (resolution, stat, open, read, a ModuleWrap: measured on
// Node 24 with 47 one-line files, 12–15 ms), so the package's ~60 core files cost a primary and
// each of its workers 30–40 ms before any of our code ran. Here the core (mod.js, internal.js
// and every file they require: src/, adapters/) becomes one `_bundle.js` per format, holding
// tsc's CommonJS output of each file in a function of its own; a file's function runs at its
// first require(), so an adapter that is imported lazily (`import()` in adapters/mod.ts,
// compiled by tsc to a require() in a promise) still runs only when asked for. mod.js and
// internal.js become facades over the bundle; compat/, cli/ and the other entries import those
// (they use only the public API) and stay files of their own: cli.js finds its own URL from a
// stack frame (cli/_entry.ts), which a bundle would rename. The core's separate .js files are
// removed so that no process can load a second copy of the core next to the bundle.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { BuildError } from "./_run.ts";
import { blank, SPECIFIER_RE } from "./_text.ts";
import type { Format } from "./compile.ts";

/** The core's entry files (relative to a format's directory), each replaced by a facade. */
export const CORE_ENTRIES: readonly string[] = ["mod.js", "internal.js"];

/** The bundle's file name in each format's directory. */
export const BUNDLE_FILE = "_bundle.js";

/** A module id (a path relative to the format's directory, `/`-separated) and its code. */
interface CoreModule {
  id: string;
  code: string;
}

/** The bundle's loader function, as module code calls it. */
const LOAD = "__xClusterLoad";

/**
 * `source` with each relative `require("…")` call replaced by `replace(specifier)`; matches are
 * found in `blanked` (comments blanked, same offsets), so doc-comment examples stay as they are.
 */
function replaceAt(
  source: string,
  blanked: string,
  replace: (specifier: string) => string,
): string {
  let out = "";
  let at = 0;
  for (const match of blanked.matchAll(SPECIFIER_RE)) {
    if (!/^require\s*\(\s*$/.test(match[1])) continue;
    const start = match.index!;
    const end = source.indexOf(")", start + match[0].length);
    if (end < 0 || source.slice(start + match[0].length, end).trim() !== "") {
      throw new BuildError(`bundle: a require() call the bundler cannot read: ${match[0]}`);
    }
    out += source.slice(at, start) + replace(match[3]);
    at = end + 1;
  }
  return out + source.slice(at);
}

/** The module `specifier` names, required from module `from` (both relative ids). */
function resolveId(from: string, specifier: string): string {
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
}

/** The core modules of the CommonJS tree `scriptDir`: the entries and all they require. */
function coreModules(scriptDir: string): CoreModule[] {
  const modules = new Map<string, CoreModule>();
  const visit = (id: string, from: string) => {
    if (modules.has(id)) return;
    const file = path.join(scriptDir, ...id.split("/"));
    if (!fs.existsSync(file)) {
      throw new BuildError(`bundle: ${from} requires ${id}, which tsc did not emit`);
    }
    const source = fs.readFileSync(file, "utf8");
    const required: string[] = [];
    // Each relative require() becomes a call of the bundle's loader with the id resolved here,
    // so nothing is resolved at run time and no relative specifier is left for verify.ts.
    const code = replaceAt(source, blank(source), (specifier) => {
      const target = resolveId(id, specifier);
      required.push(target);
      return `${LOAD}(${JSON.stringify(target)})`;
    });
    modules.set(id, { id, code });
    for (const target of required) visit(target, id);
  };
  for (const entry of CORE_ENTRIES) visit(entry, "the core");
  return [...modules.values()];
}

/** The names an ES module exports, read by importing it in a fresh Node process. */
function exportedNames(file: string): string[] {
  const program = `const m = await import(${JSON.stringify(pathToFileURL(file).href)});` +
    "console.log(JSON.stringify(Object.keys(m)));";
  const output = execFileSync(process.execPath, ["--input-type=module", "-e", program], {
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  return JSON.parse(output.trim().split("\n").pop()!) as string[];
}

/** The registry's loader: runs a module's function once and returns its exports. */
const LOADER = `
const cache = new Map();
function ${LOAD}(id) {
  let module = cache.get(id);
  if (module) return module.exports;
  module = { exports: {} };
  cache.set(id, module);
  modules[id].call(module.exports, module.exports, external, module);
  return module.exports;
}
`;

/** The bundle's source for `format`. */
function bundleSource(format: Format, modules: readonly CoreModule[]): string {
  const header = [
    `// Generated by build_npm.ts (scripts/npm_build/bundle.ts): the core of @x/cluster, one`,
    `// function per source file (tsc's CommonJS output), run at its first require.`,
  ];
  const external = format === "esm"
    ? [
      `import { createRequire } from "node:module";`,
      `const external = createRequire(import.meta.url);`,
    ]
    : [`"use strict";`, `const external = require;`];
  const definitions = modules.map(({ id, code }) =>
    `// ---- ${id}\n${JSON.stringify(id)}: function (exports, require, module) {\n${code}\n},`
  );
  const footer = format === "esm"
    ? `export { ${LOAD} as load };`
    : `module.exports = { load: ${LOAD} };`;
  return [
    ...header,
    ...external,
    "const modules = {",
    ...definitions,
    "};",
    LOADER,
    footer,
    "",
  ].join("\n");
}

/** A facade entry over the bundle: the same exports, from the bundle's copy of `id`. */
function facadeSource(format: Format, id: string, names: readonly string[]): string {
  const from = path.posix.relative(path.posix.dirname(id), BUNDLE_FILE);
  const specifier = from.startsWith(".") ? from : `./${from}`;
  const banner = `// Generated by build_npm.ts: ${id} of the core, from ${BUNDLE_FILE}.`;
  if (format === "script") {
    return `${banner}\n"use strict";\nmodule.exports = require(${JSON.stringify(specifier)}).load(${
      JSON.stringify(id)
    });\n`;
  }
  const named = names.filter((name) => name !== "default");
  for (const name of named) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
      throw new BuildError(`bundle: ${id} exports "${name}", which a facade cannot name`);
    }
  }
  return [
    banner,
    `import { load } from ${JSON.stringify(specifier)};`,
    `const core = load(${JSON.stringify(id)});`,
    ...(named.length ? [`export const { ${named.join(", ")} } = core;`] : []),
    ...(names.includes("default") ? ["export default core.default;"] : []),
    "",
  ].join("\n");
}

/**
 * Bundles the core of both formats under `outDir` (npm/esm and npm/script must be compiled):
 * writes `_bundle.js`, turns the core entries into facades and removes the core's other .js
 * files (their .d.ts stay). Returns the number of bundled modules. Throws a
 * {@linkcode BuildError} if an ES entry has a live binding (`export let`), which a facade would
 * freeze.
 *
 * @example
 * ```ts ignore
 * import { bundleCore } from "./bundle.ts";
 *
 * const count = bundleCore("npm");
 * console.log(`${count} core modules in npm/esm/_bundle.js`);
 * ```
 */
export function bundleCore(outDir: string): number {
  const scriptDir = path.join(outDir, "script");
  const modules = coreModules(scriptDir);
  for (const format of ["esm", "script"] as const) {
    const dir = path.join(outDir, format);
    const names = new Map<string, string[]>();
    if (format === "esm") {
      for (const id of CORE_ENTRIES) {
        const file = path.join(dir, ...id.split("/"));
        if (/^export\s+(let|var)\b/m.test(blank(fs.readFileSync(file, "utf8")))) {
          throw new BuildError(
            `bundle: ${id} has an \`export let\`/\`export var\` (a live binding)`,
          );
        }
        names.set(id, exportedNames(file));
      }
    }
    for (const { id } of modules) fs.rmSync(path.join(dir, ...id.split("/")));
    fs.writeFileSync(path.join(dir, BUNDLE_FILE), bundleSource(format, modules));
    for (const id of CORE_ENTRIES) {
      fs.writeFileSync(
        path.join(dir, ...id.split("/")),
        facadeSource(format, id, names.get(id) ?? []),
      );
    }
  }
  return modules.length;
}
