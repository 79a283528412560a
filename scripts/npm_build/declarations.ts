// The published .d.ts files: their `.ts` specifiers rewritten to `.js`, and a check that they do
// not need Deno or Bun types (consumers have only @types/node).

import fs from "node:fs";
import path from "node:path";
import { blank, listFiles, SPECIFIER_RE } from "./_text.ts";

/**
 * tsc (7.0) rewrites `.ts` specifiers to `.js` in JavaScript output only; declaration files keep
 * `from "./x.ts"`. This rewrites them so that consumers resolve `./x.js` -> `./x.d.ts`.
 *
 * @returns how many specifiers were rewritten.
 * @example
 * ```ts
 * import { rewriteDeclarationSpecifiers } from "./declarations.ts";
 *
 * console.log(rewriteDeclarationSpecifiers("npm/esm"), "specifiers rewritten");
 * ```
 */
export function rewriteDeclarationSpecifiers(dir: string): number {
  let count = 0;
  for (const file of listFiles(dir, ".d.ts")) {
    let text = fs.readFileSync(file, "utf8");
    // Edit from the end so that the offsets of earlier matches stay valid.
    const matches = [...blank(text).matchAll(SPECIFIER_RE)].reverse();
    for (const match of matches) {
      const specifier = match[3];
      const js = specifier.replace(/\.(m|c)?tsx?$/, (_ext, kind) => `.${kind ?? ""}js`);
      if (js === specifier) continue;
      const start = match.index + match[1].length + 1;
      text = text.slice(0, start) + js + text.slice(start + specifier.length);
      count++;
    }
    if (matches.length) fs.writeFileSync(file, text);
  }
  return count;
}

/**
 * What in one declaration file would need Deno or Bun types: triple-slash references, imports of
 * `bun` / `@types/deno`-like modules, uses of the `Deno` or `Bun` globals, `declare global`.
 *
 * @param root the checkout, for the paths in the messages
 * @param dir the output directory the file belongs to (npm/esm or npm/script)
 * @returns one message per finding, naming the source file it leaks from.
 * @example
 * ```ts
 * import { findRuntimeTypeLeaks } from "./declarations.ts";
 *
 * findRuntimeTypeLeaks(".", "npm/esm", "npm/esm/mod.d.ts", "declare const x: Deno.Env;");
 * ```
 */
export function findRuntimeTypeLeaks(
  root: string,
  dir: string,
  file: string,
  text: string,
): string[] {
  const source = path.relative(dir, file).replace(/\.d\.ts$/, ".ts");
  const found = new Set<string>();
  for (const match of text.matchAll(/\/\/\/\s*<reference\s+(types|lib|path)=["']([^"']+)["']/g)) {
    if (match[1] === "types" ? match[2] !== "node" : /deno|bun/i.test(match[2])) {
      found.add(`/// <reference ${match[1]}="${match[2]}" />`);
    }
  }
  const modules =
    /(\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']((bun|bun-types|@types\/(bun|deno))(:[\w/-]+)?)["']/g;
  for (const match of blank(text).matchAll(modules)) found.add(`an import of "${match[2]}"`);
  const code = blank(text, true);
  for (const match of code.matchAll(/\b(Deno|Bun)\s*[.[]/g)) found.add(`a use of ${match[1]}`);
  if (/\bdeclare\s+global\b/.test(code)) found.add("declare global");
  return [...found].map((what) =>
    `${path.relative(root, file)}: contains ${what} (leaks from source ${source}); ` +
    `published types must work with only @types/node (no Deno or Bun types, no globals)`
  );
}
