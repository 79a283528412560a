// Checking a compiled output tree before it is packed.

import fs from "node:fs";
import path from "node:path";
import { BuildError } from "./_run.ts";
import { blank, listFiles, SPECIFIER_RE } from "./_text.ts";
import { BUNDLE_FILE } from "./bundle.ts";
import type { Config } from "./config.ts";
import { findRuntimeTypeLeaks } from "./declarations.ts";

/**
 * Checks an output tree (npm/esm or npm/script): every relative specifier resolves to an emitted
 * file and none ends in .ts, no dynamic import() of a computed specifier, every export's .js and
 * .d.ts exist, and declaration files do not need Deno or Bun types. Throws a
 * {@linkcode BuildError} listing every problem.
 *
 * @example
 * ```ts
 * import { readConfig } from "./config.ts";
 * import { verifyOutput } from "./verify.ts";
 *
 * verifyOutput(readConfig("."), "npm/esm");
 * ```
 */
export function verifyOutput(config: Config, dir: string): void {
  const problems: string[] = [];
  const rel = (file: string) => path.relative(config.root, file);
  for (const file of [...listFiles(dir, ".js"), ...listFiles(dir, ".d.ts")]) {
    const text = fs.readFileSync(file, "utf8");
    const isDts = file.endsWith(".d.ts");
    // The bundle has no relative specifier left (bundle.ts resolved each one to a module in it);
    // reading its ~60 files as one text, the rough comment blanking could lose step.
    const bundled = path.basename(file) === BUNDLE_FILE;
    for (const match of bundled ? [] : blank(text).matchAll(SPECIFIER_RE)) {
      const specifier = match[3];
      if (/\.(m|c)?tsx?$/.test(specifier)) {
        problems.push(`${rel(file)}: specifier "${specifier}" still ends in .ts`);
        continue;
      }
      let target = path.resolve(path.dirname(file), specifier);
      if (isDts) target = target.replace(/\.js$/, ".d.ts");
      if (!fs.existsSync(target)) {
        problems.push(`${rel(file)}: "${specifier}" does not resolve (${rel(target)} missing)`);
      }
    }
    if (isDts) problems.push(...findRuntimeTypeLeaks(config.root, dir, file, text));
    if (!isDts && text.includes("__rewriteRelativeImportExtension(")) {
      // tsc emits this helper for import(expression): it cannot follow such an import, so the
      // imported file is not compiled unless something else imports it.
      const source = path.relative(dir, file).replace(/\.js$/, ".ts");
      problems.push(
        `${rel(file)}: import() of a non-literal specifier (source ${source}); ` +
          `use string literals so that tsc compiles the imported file`,
      );
    }
  }
  for (const entry of config.entries) {
    for (const ext of [".js", ".d.ts"]) {
      const file = path.join(dir, entry.base + ext);
      if (!fs.existsSync(file)) problems.push(`export ${entry.key}: ${rel(file)} was not emitted`);
    }
  }
  if (problems.length) {
    throw new BuildError(`output check failed in ${rel(dir)}/`, problems.join("\n"));
  }
}
