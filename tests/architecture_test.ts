// Tests for scripts/check_architecture.ts: the real src/ is clean, and the check does catch runtime
// leaks and import cycles.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkArchitecture, type Violation } from "../scripts/check_architecture.ts";

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** Writes `files` (path relative to a fresh temp root → source) and returns the check's findings. */
async function check(files: Record<string, string>): Promise<Violation[]> {
  const dir = mkdtempSync(join(tmpdir(), "x-cluster-arch-"));
  try {
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), source);
    }
    return await checkArchitecture(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const describe = (v: Violation) => `${v.file}:${v.line}: [${v.rule}] ${v.text}`;

test("src/ of this repository has no runtime-specific code", async () => {
  const violations = await checkArchitecture(root);
  assert.deepEqual(violations.filter((v) => v.rule !== "import-cycle").map(describe), []);
});

test("src/ of this repository has no import cycle", async () => {
  const violations = await checkArchitecture(root);
  assert.deepEqual(violations.filter((v) => v.rule === "import-cycle").map(describe), []);
});

const bad: [string, Violation["rule"]][] = [
  ['import fs from "node:fs";', "runtime-import"],
  ["Deno.exit(1);", "runtime-global"],
  ["const x = process.env.X;", "runtime-global"],
  ['const x = await import("bun");', "runtime-import"],
  ['import type { Server } from "node:net";', "runtime-import"],
  ['export { a } from "npm:left-pad";', "runtime-import"],
  ['export * from "jsr:@std/path";', "runtime-import"],
  ["import { serve } from 'bun:sqlite';", "runtime-import"],
  ['const os = require("node:os");', "runtime-import"],
  ['import path from "path";', "runtime-import"],
  ["const v = Bun.version;", "runtime-global"],
  ["const p = globalThis.process;", "runtime-global"],
  ['const p = globalThis["Deno"];', "runtime-global"],
  ["const a = process[name];", "runtime-global"],
  ["const t = `pid ${Deno.pid}`;", "runtime-global"],
  ['/// <reference types="node" />', "runtime-import"],
  ["const m = await import(name);", "unbundlable"],
  ["const m = await import(`./${name}.ts`);", "unbundlable"],
  ['const m = await import("./a" + ".ts");', "unbundlable"],
  ["const here = import.meta.url;", "unbundlable"],
];

test("passes import() of a literal, spread over lines or as a type", async () => {
  const violations = await check({
    "src/a.ts": 'export const a = () => import(\n  "./b.ts"\n);\ntype B = typeof import("./b.ts");\n',
    "src/b.ts": "export const b = 1;\n",
  });
  assert.deepEqual(violations, []);
});

for (const [source, rule] of bad) {
  test(`reports ${source}`, async () => {
    const header = "// a comment\nexport const y = 1;\n";
    const violations = await check({ "src/bad.ts": header + source + "\n" });
    assert.deepEqual(violations, [{ file: "src/bad.ts", line: 3, text: source, rule }]);
  });
}

test("reports violations in nested folders and several files", async () => {
  const violations = await check({
    "src/a/deep.ts": 'import { x } from "./x.ts";\nimport fs from "node:fs";\n',
    "src/b.js": "if (Bun.env.X) process.exit(1);\n",
  });
  assert.deepEqual(violations.map((v) => `${v.file}:${v.line}:${v.rule}`), [
    "src/a/deep.ts:2:runtime-import",
    "src/b.js:1:runtime-global",
    "src/b.js:1:runtime-global",
  ]);
});

test("ignores mentions in comments, strings, properties and files outside src/", async () => {
  const violations = await check({
    "src/good.ts": [
      '// import fs from "node:fs"; Deno.exit(1)',
      "/* process.env.X",
      '   const x = await import("bun"); */',
      "/**",
      " * Like `process.on()` in Node, or `Deno.addSignalListener()`.",
      ' * @example import cluster from "node:cluster";',
      " */",
      "export const a = \"process.env.X and Deno.exit(1) and import('bun')\";",
      "export const b = 'import fs from \"node:fs\"';",
      "export const c = `Bun.version ${1 + 1} process.exit()`;",
      "export const d = (w: { process: { pid: number } }) => w.process.pid + w?.process?.pid;",
      'export const e = /"process\\./.test("x") ? 1 : 2 / 3;',
      'import { from } from "./from.ts";',
      "export const f = from;",
      "const processes = 1; export const g = processes.toFixed();",
      "class W { #process = { pid: 1 }; $process = this.#process.pid; Deno_ = 1; Bun$ = this.Deno_; }",
    ].join("\n"),
    "adapters/node.ts": 'import fs from "node:fs";\nprocess.exit(Deno.pid);\n',
  });
  assert.deepEqual(violations, []);
});

test("a regex literal with quotes does not hide the next import", async () => {
  const violations = await check({ "src/re.ts": 'const r = /"/;\nimport fs from "node:fs";\n' });
  assert.deepEqual(violations.map((v) => v.line), [2]);
});

test("reports two files that import each other, type-only imports included", async () => {
  const violations = await check({
    "src/a.ts": 'export const a = 1;\nimport type { B } from "./b.ts";\nexport type { B };\n',
    "src/b.ts": 'import { a } from "./a.ts";\nexport type B = typeof a;\n',
  });
  assert.deepEqual(violations, [{
    file: "src/a.ts",
    line: 2,
    text: "import cycle: src/a.ts -> src/b.ts -> src/a.ts",
    rule: "import-cycle",
  }]);
});

test("reports a longer cycle once, through re-exports, import() types and folders", async () => {
  const violations = await check({
    "src/z.ts": 'export * from "./sub/m.ts";\n',
    "src/sub/m.ts": 'export type T = import("../a.ts").A;\n',
    "src/a.ts": '// import "./nothing.ts"\nexport { z } from "./z.ts";\nexport type A = 1;\n',
  });
  assert.deepEqual(violations.map(describe), [
    "src/a.ts:2: [import-cycle] import cycle: src/a.ts -> src/z.ts -> src/sub/m.ts -> src/a.ts",
  ]);
});

test("reports each cycle of files that take part in two", async () => {
  const violations = await check({
    "src/a.ts": 'import "./b.ts";\n',
    "src/b.ts": 'import "./a.ts";\nimport "./c.ts";\n',
    "src/c.ts": 'import "./b.ts";\n',
  });
  assert.deepEqual(violations.map((v) => v.text), [
    "import cycle: src/a.ts -> src/b.ts -> src/a.ts",
    "import cycle: src/b.ts -> src/c.ts -> src/b.ts",
  ]);
});

test("passes imports that point one way, and ignores what is not an import of src/", async () => {
  const violations = await check({
    // A diamond: d is reached twice but nothing leads back.
    "src/a.ts": 'import "./b.ts";\nimport "./c.ts";\n',
    "src/b.ts": 'import "./d.ts";\n',
    "src/c.ts": 'import { d } from "./d.ts";\nexport const c = d;\n',
    "src/d.ts": [
      "// import { a } from './a.ts';",
      "export const d = \"import './a.ts'\";",
      'import "./missing.ts";',
      'import "../mod.ts";',
    ].join("\n"),
    "mod.ts": 'import "./src/d.ts";\n',
  });
  assert.deepEqual(violations, []);
});
