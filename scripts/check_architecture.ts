// Architecture check: code under src/ must stay runtime-agnostic (no node:/npm:/jsr:/bun imports, no Deno/Bun/process globals).
import { readdir, readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { join, relative, sep } from "node:path";
import process from "node:process";

/** One broken rule, at a 1-based line of a file given relative to the repo root. */
export interface Violation {
  file: string;
  line: number;
  text: string;
  rule: "runtime-import" | "runtime-global";
}

interface Token {
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

function isForbiddenSpecifier(spec: string): boolean {
  return /^(?:node|npm|jsr|bun):/.test(spec) || spec === "bun" || BUILTINS.has(spec.split("/")[0]);
}

/** Splits source into code and string tokens, dropping comments (offsets are kept for line numbers). */
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

/** Finds the violations in one file's source; `file` is only used for reporting. */
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
      return;
    }
    const before = tokens[k - 1]?.kind === "code" ? tokens[k - 1].text : "";
    // import x from "…", export … from "…", import "…", import("…"), require("…")
    if (token.plain && /(?:\b(?:from|import)|\b(?:import|require)\s*\()\s*$/.test(before)) {
      if (isForbiddenSpecifier(token.text)) report(token.start, "runtime-import");
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

/** Checks every source file under `<root>/src`. */
export async function checkArchitecture(root: string): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const path of await listSources(join(root, "src"))) {
    const file = relative(root, path).split(sep).join("/");
    violations.push(...checkSource(file, await readFile(path, "utf8")));
  }
  return violations;
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
