/**
 * build_npm.ts: builds the npm package of this repository into `npm/`.
 *
 * This script does by hand what dnt (jsr:@deno/dnt) would normally do for us: JSR is
 * unreachable from our build machines, so dnt cannot be installed. It uses only Node
 * built-ins plus the pinned TypeScript compiler (`tsc`, TypeScript 7) from node_modules.
 *
 * Steps:
 *   1. read `deno.json` (name, version, exports) and `package.json` (description, ...);
 *   2. compile every source reachable from the exports twice with tsc:
 *        npm/esm/**     ES modules + .d.ts   (module: nodenext)
 *        npm/script/**  CommonJS + .d.ts     (module: commonjs, plus script/package.json)
 *      `.ts` import specifiers are rewritten to `.js` (tsc's rewriteRelativeImportExtensions
 *      for JavaScript, a small post-processing pass for the .d.ts files);
 *   3. verify the output: every relative specifier resolves to an emitted file, and the
 *      published .d.ts files do not reference Deno or Bun types;
 *   4. write npm/package.json and copy README.md and LICENSE;
 *   5. smoke-test the packed package (unless --no-smoke): import() and require() of every
 *      export on Node 24 and Node 20, type-check a consumer with only @types/node, and run a
 *      one-worker cluster (ESM and CJS) on both Node versions.
 *
 * Usage:
 *   npm run build:npm                      (= node build_npm.ts)
 *   node build_npm.ts --root DIR           build another checkout (e.g. a throwaway copy;
 *                                          it needs node_modules, a symlink will do)
 *   node build_npm.ts --no-smoke           skip step 5
 *   node build_npm.ts --node20 PATH        Node 20 binary for the smoke test (default: found
 *                                          on PATH, or in /usr/bin, /usr/local/bin)
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** Directory of this script: where node_modules (tsc, node, @types) are found. */
const TOOL_DIR = path.dirname(fileURLToPath(import.meta.url));
/** Time limit of one smoke-test script (a whole process group is killed past it). */
const SMOKE_TIMEOUT_MS = 30_000;
const OUT_DIR_NAME = "npm";

/** One entry of deno.json `exports`, e.g. { key: "./compat", source: "compat.ts" }. */
interface Entry {
  key: string;
  /** Source path relative to the root, without "./", e.g. "compat.ts". */
  source: string;
  /** Output path relative to esm/ or script/, without extension, e.g. "compat". */
  base: string;
}

interface Config {
  root: string;
  name: string;
  version: string;
  entries: Entry[];
  packageJson: Record<string, unknown>;
  description?: string;
  license?: string;
}

interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Processes of the child's process group still alive after it exited (and then killed). */
  leftovers: number[];
}

interface NodeBinary {
  label: string;
  path: string;
}

class BuildError extends Error {
  output: string;
  constructor(message: string, output = "") {
    super(message);
    this.output = output;
  }
}

// ---------------------------------------------------------------------------------------------
// Logging and processes
// ---------------------------------------------------------------------------------------------

function step(message: string): void {
  console.log(`\n==> ${message}`);
}

function info(message: string): void {
  console.log(`    ${message}`);
}

function describeRun(command: string, args: string[], result: RunResult): string {
  const status = result.timedOut
    ? `timed out after ${SMOKE_TIMEOUT_MS} ms (process group killed)`
    : `exit code ${result.code}${result.signal ? `, signal ${result.signal}` : ""}`;
  return [
    `$ ${[command, ...args].join(" ")}`,
    `(${status})`,
    result.leftovers.length
      ? `(processes of its group still running after it exited, e.g. orphaned workers; ` +
        `killed: ${result.leftovers.join(", ")})`
      : "",
    result.stdout.trim() ? `--- stdout ---\n${result.stdout.trimEnd()}` : "",
    result.stderr.trim() ? `--- stderr ---\n${result.stderr.trimEnd()}` : "",
  ].filter(Boolean).join("\n");
}

/**
 * Pids of the live (non-zombie) processes in a process group. Uses /proc where available,
 * otherwise only tells whether the group has any process at all.
 */
function liveGroupMembers(pgid: number): number[] {
  if (fs.existsSync("/proc/self/stat")) {
    const pids: number[] = [];
    for (const name of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      let stat: string;
      try {
        stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      } catch {
        continue; // the process went away meanwhile
      }
      // Format: "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") pids.push(Number(name));
    }
    return pids;
  }
  try {
    process.kill(-pgid, 0);
    return [pgid];
  } catch {
    return [];
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a command in its own process group, collecting its output. On timeout the whole
 * group is killed. After the command exits, any process of its group still running (e.g. an
 * orphaned cluster worker) is reported in `leftovers` and killed.
 */
async function run(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // own process group, so that it can be killed as a whole
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) killGroup(child.pid);
  }, options.timeoutMs ?? 10 * 60_000);
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  // Wait for "exit", not "close": an orphaned worker may hold the output pipes open.
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(timer));

  let leftovers: number[] = [];
  if (child.pid !== undefined) {
    // Give exiting workers a moment before calling them leftovers.
    for (let i = 0; i < 30 && (leftovers = liveGroupMembers(child.pid)).length; i++) {
      await sleep(100);
    }
    if (leftovers.length) killGroup(child.pid);
  }
  await Promise.race([closed, sleep(2000)]); // collect the remaining output
  return { code, signal, stdout, stderr, timedOut, leftovers };
}

/**
 * Runs a command and throws a BuildError carrying its output unless it exited 0 in time and
 * left no process behind. `what` names the step in the error message.
 */
async function runOk(
  what: string,
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0 || result.timedOut || result.leftovers.length) {
    throw new BuildError(`${what} failed`, describeRun(command, args, result));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new BuildError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function readConfig(root: string): Config {
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

  const rawExports = denoJson.exports;
  const exportsMap: Record<string, unknown> = typeof rawExports === "string"
    ? { ".": rawExports }
    : (rawExports as Record<string, unknown> | undefined) ?? {};
  const entries: Entry[] = [];
  for (const [key, target] of Object.entries(exportsMap)) {
    if (typeof target !== "string" || !/\.ts$/.test(target)) {
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

/** README.md and LICENSE are published with the package: fail early when one is missing. */
function checkPublishedFiles(root: string): void {
  for (const file of ["README.md", "LICENSE"]) {
    if (!fs.existsSync(path.join(root, file))) {
      throw new BuildError(
        `${file} is missing at the repository root (${root}); it is ` +
          `copied into the npm package, so the build cannot continue without it`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------

function tscPath(): string {
  const require = createRequire(path.join(TOOL_DIR, "package.json"));
  try {
    return path.join(path.dirname(require.resolve("typescript/package.json")), "bin", "tsc");
  } catch {
    throw new BuildError(
      `typescript is not installed in ${TOOL_DIR}/node_modules (run npm install)`,
    );
  }
}

/**
 * Writes a temporary tsconfig for one output format and runs tsc with it. The config
 * extends the repository's tsconfig.json (same strictness, lib and types as `npm run check`)
 * but compiles only the export entry files; tsc follows their imports, static and dynamic,
 * so exactly the reachable sources (not tests, bench, examples, scripts) are compiled.
 */
async function compile(config: Config, outDir: string, format: "esm" | "script"): Promise<void> {
  const tmpDir = path.join(outDir, ".tsconfig");
  fs.mkdirSync(tmpDir, { recursive: true });
  const rootTsconfig = path.join(config.root, "tsconfig.json");
  const compilerOptions: Record<string, unknown> = {
    target: "ES2022",
    strict: true,
    skipLibCheck: true,
    // Emit settings (override whatever the repository's tsconfig says).
    noEmit: false,
    emitDeclarationOnly: false,
    declaration: true,
    declarationMap: false,
    sourceMap: false,
    composite: false,
    incremental: false,
    noEmitOnError: true,
    removeComments: false,
    rewriteRelativeImportExtensions: true,
    rootDir: config.root,
    outDir: path.join(outDir, format),
    ...(format === "esm"
      ? { module: "nodenext", moduleResolution: "nodenext" }
      // verbatimModuleSyntax forbids ESM syntax in files compiled to CommonJS.
      : { module: "commonjs", moduleResolution: "bundler", verbatimModuleSyntax: false }),
  };
  if (!fs.existsSync(rootTsconfig)) compilerOptions.types = ["node"];
  const tsconfig = {
    ...(fs.existsSync(rootTsconfig) ? { extends: rootTsconfig } : {}),
    compilerOptions,
    files: config.entries.map((entry) => path.join(config.root, entry.source)),
    include: [],
  };
  const tsconfigFile = path.join(tmpDir, `${format}.json`);
  fs.writeFileSync(tsconfigFile, JSON.stringify(tsconfig, null, 2));
  try {
    await runOk(`tsc (${format})`, process.execPath, [tscPath(), "-p", tsconfigFile], {
      cwd: config.root,
    });
  } catch (error) {
    if (format === "script" && error instanceof BuildError) {
      error.message += " (the CommonJS build: sources must not use top-level await or " +
        "import.meta; use dynamic import() inside functions)";
    }
    throw error;
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

function listFiles(dir: string, suffix: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(suffix))
    .map((file) => path.join(dir, file))
    .sort();
}

/** Matches relative module specifiers in import/export/require statements and import types. */
const SPECIFIER_RE =
  /(\bfrom\s*|\bimport\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)(["'])(\.{1,2}\/[^"'\n]*)\2/g;

/** A string literal (group 1) or a comment. Rough (no regex literals), enough for tsc output. */
const STRING_OR_COMMENT_RE =
  /("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g;

/**
 * Replaces comments (and string literals too, with `strings`) by spaces, keeping offsets, so
 * that examples in doc comments are neither rewritten nor checked.
 */
function blank(text: string, strings = false): string {
  return text.replace(
    STRING_OR_COMMENT_RE,
    (match, literal) => literal !== undefined && !strings ? match : match.replace(/[^\n]/g, " "),
  );
}

/**
 * tsc (7.0) rewrites `.ts` specifiers to `.js` in JavaScript output only; declaration files
 * keep `from "./x.ts"`. Rewrite them so that consumers resolve `./x.js` -> `./x.d.ts`.
 */
function rewriteDeclarationSpecifiers(dir: string): number {
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
 * Checks an output tree: every relative specifier resolves to an emitted file and none ends
 * in .ts; declaration files must not need Deno or Bun types.
 */
function verifyOutput(config: Config, dir: string): void {
  const problems: string[] = [];
  const rel = (file: string) => path.relative(config.root, file);
  for (const file of [...listFiles(dir, ".js"), ...listFiles(dir, ".d.ts")]) {
    const text = fs.readFileSync(file, "utf8");
    const isDts = file.endsWith(".d.ts");
    for (const match of blank(text).matchAll(SPECIFIER_RE)) {
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
    if (isDts) problems.push(...findRuntimeTypeLeaks(config, dir, file, text));
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

/** Published types must work with only @types/node: no Deno/Bun globals or modules. */
function findRuntimeTypeLeaks(config: Config, dir: string, file: string, text: string): string[] {
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
    `${path.relative(config.root, file)}: contains ${what} (leaks from source ${source}); ` +
    `published types must work with only @types/node (no Deno or Bun types, no globals)`
  );
}

// ---------------------------------------------------------------------------------------------
// package.json and static files
// ---------------------------------------------------------------------------------------------

function packageJsonFor(config: Config): Record<string, unknown> {
  const exportsMap: Record<string, unknown> = {};
  for (const entry of config.entries) {
    // Each format gets its own declarations: script/*.d.ts sit next to script/package.json
    // ("type": "commonjs"), so TypeScript sees CommonJS types for require() consumers.
    exportsMap[entry.key] = {
      import: { types: `./esm/${entry.base}.d.ts`, default: `./esm/${entry.base}.js` },
      require: { types: `./script/${entry.base}.d.ts`, default: `./script/${entry.base}.js` },
    };
  }
  exportsMap["./package.json"] = "./package.json";
  const main = config.entries.find((entry) => entry.key === ".")!;
  const pkg = config.packageJson;
  const optional = (key: string) => (pkg[key] === undefined ? {} : { [key]: pkg[key] });
  return {
    name: config.name,
    version: config.version,
    ...(config.description ? { description: config.description } : {}),
    ...(config.license ? { license: config.license } : {}),
    ...optional("author"),
    ...optional("repository"),
    ...optional("homepage"),
    ...optional("bugs"),
    ...optional("keywords"),
    type: "module",
    main: `./script/${main.base}.js`,
    module: `./esm/${main.base}.js`,
    types: `./esm/${main.base}.d.ts`,
    exports: exportsMap,
    engines: { node: ">=20" },
  };
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
}

// ---------------------------------------------------------------------------------------------
// Build
// ---------------------------------------------------------------------------------------------

async function build(config: Config): Promise<string> {
  const outDir = path.join(config.root, OUT_DIR_NAME);
  step(`Building ${config.name}@${config.version} from ${config.root}`);
  for (const entry of config.entries) info(`export ${entry.key.padEnd(12)} ./${entry.source}`);
  checkPublishedFiles(config.root);

  step(`Cleaning ${OUT_DIR_NAME}/`);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });

  step("Compiling ES modules + declarations (tsc, module nodenext) -> npm/esm/");
  await compile(config, outDir, "esm");
  step("Compiling CommonJS + declarations (tsc, module commonjs) -> npm/script/");
  await compile(config, outDir, "script");
  writeJson(path.join(outDir, "script", "package.json"), { type: "commonjs" });
  info("wrote npm/script/package.json");

  step("Rewriting .ts specifiers in declaration files");
  for (const format of ["esm", "script"]) {
    const count = rewriteDeclarationSpecifiers(path.join(outDir, format));
    info(`npm/${format}: ${count} specifier(s) rewritten`);
  }

  step("Checking the output");
  for (const format of ["esm", "script"]) {
    const dir = path.join(outDir, format);
    verifyOutput(config, dir);
    const js = listFiles(dir, ".js").length;
    info(`npm/${format}: ${js} .js + ${listFiles(dir, ".d.ts").length} .d.ts, specifiers resolve`);
  }

  step("Writing npm/package.json, README.md, LICENSE");
  writeJson(path.join(outDir, "package.json"), packageJsonFor(config));
  for (const file of ["README.md", "LICENSE"]) {
    fs.copyFileSync(path.join(config.root, file), path.join(outDir, file));
  }
  info("done");
  return outDir;
}

// ---------------------------------------------------------------------------------------------
// Smoke test
// ---------------------------------------------------------------------------------------------

function nodeVersion(binary: string): string | undefined {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The Node binaries to test with: the pinned Node 24 and the machine's Node 20. */
function findNodes(node20Option: string | undefined): NodeBinary[] {
  const pinned = path.join(TOOL_DIR, "node_modules", ".bin", "node");
  const node24 = fs.existsSync(pinned) ? pinned : process.execPath;
  let node20 = node20Option;
  if (!node20) {
    const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/local/bin", "/usr/bin"];
    node20 = dirs.map((dir) => path.join(dir, "node"))
      .find((file) => fs.existsSync(file) && /^v20\./.test(nodeVersion(file) ?? ""));
  }
  if (!node20 || !nodeVersion(node20)) {
    throw new BuildError("no Node 20 binary found for the smoke test; pass --node20 PATH");
  }
  return [
    { label: `node ${nodeVersion(node24)}`, path: node24 },
    { label: `node ${nodeVersion(node20)}`, path: node20 },
  ];
}

/** Packs npm/ with `npm pack` and unpacks the tarball into DIR/node_modules/<name>. */
async function installPacked(config: Config, outDir: string, dir: string): Promise<void> {
  const packed = await runOk("npm pack", "npm", ["pack", "--json", "--pack-destination", dir], {
    cwd: outDir,
  });
  const [{ filename, files }] = JSON.parse(packed.stdout) as [
    { filename: string; files: { path: string }[] },
  ];
  info(`npm pack: ${path.basename(filename)} (${files.length} files)`);
  const target = path.join(dir, "node_modules", ...config.name.split("/"));
  fs.mkdirSync(target, { recursive: true });
  await runOk("unpacking the tarball", "tar", [
    "-xzf",
    path.join(dir, path.basename(filename)),
    "-C",
    target,
    "--strip-components=1",
  ], { cwd: dir });
  info(`installed into ${path.relative(dir, target)}`);
}

function specifierOf(config: Config, entry: Entry): string {
  return entry.key === "." ? config.name : `${config.name}/${entry.key.replace(/^\.\//, "")}`;
}

/** Script that loads every export, checks it and prints the export names as JSON. */
function loadScript(config: Config, mode: "import" | "require"): string {
  const checks = config.entries.map((entry) => ({
    spec: specifierOf(config, entry),
    expect: entry.key === "." ? ["Cluster"] : [],
    dir: mode === "import" ? "/esm/" : "/script/",
  }));
  const load = mode === "import"
    ? "const mod = await import(c.spec); const where = import.meta.resolve(c.spec);"
    : "const mod = require(c.spec); const where = require.resolve(c.spec);";
  const body = `
const checks = ${JSON.stringify(checks)};
const result = {};
for (const c of checks) {
  ${load}
  if (!where.includes(c.dir)) throw new Error(c.spec + " resolved to " + where);
  const names = Object.keys(mod).filter((n) => n !== "default" && n !== "__esModule").sort();
  if (names.length === 0) throw new Error(c.spec + " has no exports");
  for (const n of c.expect) {
    if (mod[n] === undefined) throw new Error(c.spec + " lacks export " + n);
  }
  result[c.spec] = names;
}
console.log("EXPORTS " + JSON.stringify(result));
`;
  return mode === "import" ? body : `(async () => {${body}})().catch((e) => {
  console.error(e);
  process.exit(1);
});`;
}

/** Primary starts one worker, waits for its message, shuts down. */
function clusterScript(config: Config, mode: "import" | "require"): string {
  const body = `
if (Cluster.isPrimary) {
  const cluster = new Cluster({ workers: 1, readiness: "online" });
  const received = new Promise((resolve) => {
    cluster.on("message", (worker, message) => resolve({ worker, message }));
  });
  await cluster.start();
  const { worker, message } = await received;
  if (!message || message.hello === undefined) {
    throw new Error("unexpected message " + JSON.stringify(message));
  }
  if (worker && worker.id !== undefined && worker.id !== message.hello) {
    throw new Error("message from worker " + worker.id + " says " + message.hello);
  }
  await cluster.shutdown();
  console.log("SMOKE_OK " + JSON.stringify(message));
} else {
  Cluster.worker.send({ hello: Cluster.worker.id });
}
`;
  const name = JSON.stringify(config.name);
  return mode === "import"
    ? `import { Cluster } from ${name};\n${body}`
    : `const { Cluster } = require(${name});
(async () => {${body}})().catch((error) => {
  console.error(error);
  process.exit(1);
});`;
}

async function checkLoading(config: Config, dir: string, nodes: NodeBinary[]): Promise<void> {
  fs.writeFileSync(path.join(dir, "load.mjs"), loadScript(config, "import"));
  fs.writeFileSync(path.join(dir, "load.cjs"), loadScript(config, "require"));
  for (const node of nodes) {
    const names: Record<string, string> = {};
    for (const file of ["load.mjs", "load.cjs"]) {
      const result = await runOk(`${node.label} ${file}`, node.path, [file], {
        cwd: dir,
        timeoutMs: SMOKE_TIMEOUT_MS,
      });
      names[file] = result.stdout.match(/^EXPORTS (.*)$/m)?.[1] ?? "";
      info(`${node.label}: ${file === "load.mjs" ? "import()" : "require()"} of every export OK`);
    }
    if (names["load.mjs"] !== names["load.cjs"]) {
      throw new BuildError(
        `${node.label}: ESM and CommonJS builds export different names`,
        `import():  ${names["load.mjs"]}\nrequire(): ${names["load.cjs"]}`,
      );
    }
  }
}

/**
 * Type-checks consumers (.mts and .cts) against the packed package with
 * only @types/node and without skipLibCheck, so published .d.ts files are fully checked.
 */
async function checkTypes(config: Config, dir: string): Promise<void> {
  const entries = config.entries.map((entry, i) => ({ i, spec: specifierOf(config, entry) }));
  const esm = entries.map(({ i, spec }) => `import * as e${i} from "${spec}";`).join("\n") +
    `\nexport const all: unknown[] = [${entries.map(({ i }) => `e${i}`).join(", ")}];\n` +
    "export const cluster: unknown = e0.Cluster;\n";
  const cjs = entries.map(({ i, spec }) => `import e${i} = require("${spec}");`).join("\n") +
    `\nexport const all: unknown[] = [${entries.map(({ i }) => `e${i}`).join(", ")}];\n` +
    "export const cluster: unknown = e0.Cluster;\n";
  fs.writeFileSync(path.join(dir, "consumer.mts"), esm);
  fs.writeFileSync(path.join(dir, "consumer.cts"), cjs);
  writeJson(path.join(dir, "tsconfig.json"), {
    compilerOptions: {
      target: "ES2022",
      module: "nodenext",
      moduleResolution: "nodenext",
      lib: ["ES2023"],
      types: ["node"],
      typeRoots: [path.join(TOOL_DIR, "node_modules", "@types")],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    },
    files: ["consumer.mts", "consumer.cts"],
  });
  // node16 has no require(esm): it catches CommonJS types that are really ES module types.
  for (const module of ["nodenext", "node16"]) {
    const args = ["-p", "tsconfig.json", "--module", module, "--moduleResolution", module];
    const result = await run(process.execPath, [tscPath(), ...args], {
      cwd: dir,
      timeoutMs: SMOKE_TIMEOUT_MS * 4,
    });
    if (result.code !== 0) {
      throw new BuildError(
        `type-checking a consumer of the package (module ${module}) failed`,
        describeRun("tsc", args, result),
      );
    }
  }
  info("consumer.mts (import) and consumer.cts (require) type-check with only @types/node");
  info("(module nodenext and node16, skipLibCheck off)");
}

async function runClusters(config: Config, dir: string, nodes: NodeBinary[]): Promise<void> {
  fs.writeFileSync(path.join(dir, "cluster.mjs"), clusterScript(config, "import"));
  fs.writeFileSync(path.join(dir, "cluster.cjs"), clusterScript(config, "require"));
  for (const node of nodes) {
    for (const file of ["cluster.mjs", "cluster.cjs"]) {
      const result = await runOk(`${node.label} ${file} (one-worker cluster)`, node.path, [file], {
        cwd: dir,
        timeoutMs: SMOKE_TIMEOUT_MS,
      });
      const ok = result.stdout.match(/^SMOKE_OK (.*)$/m);
      if (!ok) {
        throw new BuildError(
          `${node.label} ${file}: no message arrived from the worker`,
          describeRun(node.path, [file], result),
        );
      }
      info(`${node.label}: ${file} one-worker cluster OK, message ${ok[1]}`);
    }
  }
}

async function smokeTest(
  config: Config,
  outDir: string,
  node20: string | undefined,
): Promise<void> {
  step("Smoke test: packing and installing into a temporary directory");
  const nodes = findNodes(node20);
  for (const node of nodes) info(`using ${node.label} at ${node.path}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "build-npm-smoke-"));
  try {
    await installPacked(config, outDir, dir);
    step("Smoke test: import() and require() of every export");
    await checkLoading(config, dir, nodes);
    step("Smoke test: type-checking consumers of the published declarations");
    await checkTypes(config, dir);
    step("Smoke test: one-worker cluster, ESM and CommonJS");
    await runClusters(config, dir, nodes);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      root: { type: "string" },
      "no-smoke": { type: "boolean", default: false },
      node20: { type: "string" },
    },
  });
  const root = path.resolve(values.root ?? TOOL_DIR);
  const config = readConfig(root);
  const outDir = await build(config);
  if (values["no-smoke"]) {
    step("Smoke test skipped (--no-smoke)");
  } else {
    await smokeTest(config, outDir, values.node20);
  }
  step(`Built ${config.name}@${config.version} into ${outDir}`);
}

try {
  await main();
} catch (error) {
  if (error instanceof BuildError) {
    console.error(`\nBUILD FAILED: ${error.message}`);
    if (error.output) console.error(error.output);
  } else {
    console.error("\nBUILD FAILED:", error);
  }
  process.exit(1);
}
