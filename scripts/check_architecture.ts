// Architecture check: code under src/ must stay runtime-agnostic (no node:/npm:/jsr:/bun imports,
// no Deno/Bun/process globals), and its files must not import each other in a circle.
import { readdir, readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { join, posix, relative, sep } from "node:path";
import process from "node:process";
import { findImportCycles, type ImportEdge } from "./_import_cycles.ts";

/** One broken rule, at a 1-based line of a file given relative to the repo root. */
export interface Violation {
  file: string;
  line: number;
  text: string;
  rule: "runtime-import" | "runtime-global" | "import-cycle" | "unbundlable";
}

/** A piece of source: code, or the contents of a string or template literal. */
export interface Token {
  kind: "code" | "string";
  text: string; // code as written, or a string/template literal's contents
  start: number; // offset in the source
  plain?: boolean; // for strings: a quoted string or a template without ${}
}

const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/;
const BUILTINS = new Set(builtinModules);
// A "/" after one of these characters or keywords starts a regular expression, not a division.
const BEFORE_REGEX =
  /(?:^|[(,=:[!&|?{};+\-*%<>~^]|\b(?:return|typeof|case|do|else|in|of|void|yield|await|delete|new|instanceof))\s*$/;
// `Deno.`, `Bun.`, `process.` (or `?.`, `[`) but not as a property (`worker.process.pid`, `this.#process`); or `globalThis.X`.
const GLOBAL_USE =
  /(?<![#$]|\.\s*)\b(?:Deno|Bun|process)\s*(?:\?\.|\.|\[)|\bglobalThis\s*\??\.\s*(?:Deno|Bun|process)\b/g;

// The npm build bundles src/ into one file (scripts/npm_build): a specifier computed at run time
// cannot be followed there, and `import.meta` would describe the bundle, not the source file.
const IMPORT_META = /\bimport\s*\.\s*meta\b/g;
const DYNAMIC_IMPORT = /\bimport\s*\(/g;

// What precedes a module specifier: import x from "…", export … from "…", import "…", import("…"),
// require("…").
const BEFORE_SPECIFIER = /(?:\b(?:from|import)|\b(?:import|require)\s*\()\s*$/;

function isForbiddenSpecifier(spec: string): boolean {
  return /^(?:node|npm|jsr|bun):/.test(spec) || spec === "bun" || BUILTINS.has(spec.split("/")[0]);
}

/**
 * Splits source into code and string tokens, dropping comments (offsets are kept for line numbers).
 *
 * @example
 * ```ts
 * import { tokenize } from "./check_architecture.ts";
 *
 * tokenize('f("a"); // note').map((t) => t.kind); // ["code", "string", "code"]
 * ```
 */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const templateDepths: number[] = []; // brace depth at which each open `${` returns to its template
  let depth = 0;
  let code = "";
  let codeStart = 0;
  let recent = ""; // the last significant characters, strings shown as "", to tell a regex from a division
  let i = 0;
  const flush = (end: number) => {
    if (code) tokens.push({ kind: "code", text: code, start: codeStart });
    code = "";
    codeStart = end;
  };
  // Reads a template's text from i (just after ` or }) up to the closing ` or the next ${.
  const readTemplate = (begin: number, plain: boolean) => {
    let j = i;
    while (j < src.length && src[j] !== "`" && !(src[j] === "$" && src[j + 1] === "{")) {
      j += src[j] === "\\" ? 2 : 1;
    }
    const closed = src[j] === "`";
    tokens.push({ kind: "string", text: src.slice(i, j), start: begin, plain: plain && closed });
    recent += closed ? '""' : "(";
    if (!closed) templateDepths.push(++depth);
    i = closed ? j + 1 : j + 2;
    codeStart = i;
  };
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      flush(i);
      while (i < src.length && src[i] !== "\n") i++;
      codeStart = i;
    } else if (c === "/" && next === "*") {
      flush(i);
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
      codeStart = i;
    } else if (c === '"' || c === "'") {
      flush(i);
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      tokens.push({ kind: "string", text: src.slice(i + 1, j), start: i, plain: true });
      recent += '""';
      i = j + 1;
      codeStart = i;
    } else if (c === "`") {
      flush(i);
      i++;
      readTemplate(i - 1, true);
    } else if (c === "}" && templateDepths.at(-1) === depth) {
      flush(i);
      templateDepths.pop();
      depth--;
      i++;
      readTemplate(i - 1, false);
    } else if (c === "/" && BEFORE_REGEX.test(recent.slice(-20))) {
      // Regular expression literal: skip it (with its character classes) as code.
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== "\n" && (inClass || src[j] !== "/")) {
        if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        j += src[j] === "\\" ? 2 : 1;
      }
      code += src.slice(i, j + 1);
      recent += "/re/";
      i = j + 1;
    } else {
      if (c === "{") depth++;
      else if (c === "}") depth--;
      code += c;
      recent = (recent + c).slice(-40);
      i++;
    }
  }
  flush(i);
  return tokens;
}

function codeBefore(tokens: Token[], k: number): string {
  return tokens[k - 1]?.kind === "code" ? tokens[k - 1].text : "";
}

/** Whether token `k` is the module specifier of an import, re-export or require(). */
function isSpecifier(tokens: Token[], k: number): boolean {
  return tokens[k].kind === "string" && tokens[k].plain === true &&
    BEFORE_SPECIFIER.test(codeBefore(tokens, k));
}

/**
 * The relative module specifiers of one file's source (type-only imports and re-exports
 * included; mentions in comments and strings are not imports), with their 1-based lines.
 *
 * @example
 * ```ts
 * import { relativeImports } from "./check_architecture.ts";
 *
 * relativeImports('import type { A } from "./a.ts";\nexport * from "../b.ts";');
 * // [{ specifier: "./a.ts", line: 1 }, { specifier: "../b.ts", line: 2 }]
 * ```
 */
export function relativeImports(src: string): { specifier: string; line: number }[] {
  const tokens = tokenize(src);
  return tokens
    .filter((token, k) => isSpecifier(tokens, k) && /^\.\.?\//.test(token.text))
    .map((token) => ({
      specifier: token.text,
      line: src.slice(0, token.start).split("\n").length,
    }));
}

/**
 * Finds the runtime-specific code in one file's source; `file` is only used for reporting.
 *
 * @example
 * ```ts
 * import { checkSource } from "./check_architecture.ts";
 *
 * checkSource("src/x.ts", 'import fs from "node:fs";');
 * // [{ file: "src/x.ts", line: 1, text: 'import fs from "node:fs";', rule: "runtime-import" }]
 * ```
 */
export function checkSource(file: string, src: string): Violation[] {
  const lines = src.split("\n");
  const found: Violation[] = [];
  const report = (offset: number, rule: Violation["rule"]) => {
    const line = src.slice(0, offset).split("\n").length;
    found.push({ file, line, text: lines[line - 1].trim(), rule });
  };
  const tokens = tokenize(src);
  tokens.forEach((token, k) => {
    if (token.kind === "code") {
      for (const m of token.text.matchAll(GLOBAL_USE)) {
        report(token.start + m.index, "runtime-global");
      }
      for (const m of token.text.matchAll(IMPORT_META)) report(token.start + m.index, "unbundlable");
      for (const m of token.text.matchAll(DYNAMIC_IMPORT)) {
        // Only `import("literal")`: the literal is the next token, right after the parenthesis.
        const literal = /^\s*$/.test(token.text.slice(m.index + m[0].length)) &&
          tokens[k + 1]?.kind === "string" && tokens[k + 1].plain === true &&
          /^\s*\)/.test(tokens[k + 2]?.kind === "code" ? tokens[k + 2].text : "");
        if (!literal) report(token.start + m.index, "unbundlable");
      }
      return;
    }
    const before = codeBefore(tokens, k);
    if (isSpecifier(tokens, k) && isForbiddenSpecifier(token.text)) {
      report(token.start, "runtime-import");
    }
    // globalThis["process"]
    if (
      /\bglobalThis\s*(?:\?\.)?\[\s*$/.test(before) && /^(?:Deno|Bun|process)$/.test(token.text)
    ) {
      report(token.start, "runtime-global");
    }
  });
  // Triple-slash directives are comments, but they pull in a runtime's types.
  lines.forEach((text, n) => {
    if (
      /^\s*\/\/\/\s*<reference\s+(?:types|lib)\s*=\s*["'](?:node|bun|bun-types|deno\.\w+)["']/.test(
        text,
      )
    ) {
      found.push({ file, line: n + 1, text: text.trim(), rule: "runtime-import" });
    }
  });
  return found.sort((a, b) => a.line - b.line);
}

async function listSources(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return []; // no src/ yet
  }
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...await listSources(path));
    else if (SOURCE.test(entry.name)) files.push(path);
  }
  return files.sort();
}

/**
 * The import cycles among `sources` (root-relative posix path -> source text), as violations at
 * the import that starts each cycle. Only imports of files in `sources` are followed.
 *
 * @example
 * ```ts
 * import { checkImportCycles } from "./check_architecture.ts";
 *
 * checkImportCycles(new Map([
 *   ["src/a.ts", 'import type { B } from "./b.ts";'],
 *   ["src/b.ts", 'import { a } from "./a.ts";'],
 * ]));
 * // [{ file: "src/a.ts", line: 1, rule: "import-cycle",
 * //    text: "import cycle: src/a.ts -> src/b.ts -> src/a.ts" }]
 * ```
 */
export function checkImportCycles(sources: ReadonlyMap<string, string>): Violation[] {
  const graph = new Map<string, ImportEdge[]>();
  for (const [file, src] of sources) {
    const edges = relativeImports(src)
      .map(({ specifier, line }) => ({ to: posix.join(posix.dirname(file), specifier), line }))
      .filter((edge) => sources.has(edge.to));
    graph.set(file, edges);
  }
  return findImportCycles(graph).map((cycle) => ({
    file: cycle.files[0],
    line: cycle.line,
    text: `import cycle: ${cycle.files.join(" -> ")}`,
    rule: "import-cycle",
  }));
}

/**
 * Checks every source file under `<root>/src`: runtime-specific code, then import cycles.
 *
 * @example
 * ```ts
 * import { checkArchitecture } from "./check_architecture.ts";
 *
 * for (const v of await checkArchitecture(".")) console.log(`${v.file}:${v.line}: ${v.text}`);
 * ```
 */
export async function checkArchitecture(root: string): Promise<Violation[]> {
  const violations: Violation[] = [];
  const sources = new Map<string, string>();
  for (const path of await listSources(join(root, "src"))) {
    const file = relative(root, path).split(sep).join("/");
    const src = await readFile(path, "utf8");
    sources.set(file, src);
    violations.push(...checkSource(file, src));
  }
  return [...violations, ...checkImportCycles(sources)];
}

if (import.meta.main) {
  const root = join(import.meta.dirname ?? ".", "..");
  const violations = await checkArchitecture(root);
  for (const v of violations) console.log(`${v.file}:${v.line}: [${v.rule}] ${v.text}`);
  console.log(
    violations.length ? `${violations.length} architecture violation(s)` : "architecture: ok",
  );
  process.exitCode = violations.length ? 1 : 0;
}
