// Reading compiled output as text: relative module specifiers, and comments/strings blanked out
// so that the examples in doc comments are neither rewritten nor checked.

import fs from "node:fs";
import path from "node:path";

/**
 * Relative module specifiers in import/export/require statements and import types: group 1 is
 * what precedes the quote, group 2 the quote, group 3 the specifier.
 */
export const SPECIFIER_RE: RegExp =
  /(\bfrom\s*|\bimport\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)(["'])(\.{1,2}\/[^"'\n]*)\2/g;

/** A string literal (group 1) or a comment. Rough (no regex literals), enough for tsc output. */
const STRING_OR_COMMENT_RE =
  /("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g;

/**
 * Replaces comments (and string literals too, with `strings`) by spaces, keeping offsets and line
 * breaks, so that a match in the result is at the same offset in `text`.
 *
 * @example
 * ```ts
 * import { blank } from "./_text.ts";
 *
 * blank('import "./a.ts"; // "./b.ts"'); // 'import "./a.ts";           '
 * ```
 */
export function blank(text: string, strings = false): string {
  return text.replace(
    STRING_OR_COMMENT_RE,
    (match, literal) => literal !== undefined && !strings ? match : match.replace(/[^\n]/g, " "),
  );
}

/**
 * The files below `dir` whose names end in `suffix`, as sorted full paths.
 *
 * @example
 * ```ts
 * import { listFiles } from "./_text.ts";
 *
 * console.log(listFiles("npm/esm", ".d.ts").length);
 * ```
 */
export function listFiles(dir: string, suffix: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(suffix))
    .map((file) => path.join(dir, file))
    .sort();
}
