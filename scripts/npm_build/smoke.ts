// The smoke test of the npm build: pack npm/, install the tarball into a temporary directory and
// use it there as consumers do, on the pinned Node 24 and the machine's Node 20. The programs it
// runs are the files in scripts/npm_build/smoke/.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { BuildError, describeRun, info, run, runOk, step } from "./_run.ts";
import { tscPath } from "./compile.ts";
import { type Config, type Entry, TOOL_ROOT, writeJson } from "./config.ts";

/** Time limit of one smoke program (its whole process group is killed past it). */
const SMOKE_TIMEOUT_MS = 30_000;
/** The smoke programs, copied next to the installed package. */
const SMOKE_DIR = path.join(TOOL_ROOT, "scripts", "npm_build", "smoke");
/** Programs that load every export; they take the export specifiers as arguments. */
const LOADERS = ["load.mjs", "load.cjs"] as const;
/** What the loaders and the clusters check, shared by the two module systems. */
const CHECKS = "_checks.cjs";
/** Programs that run a one-worker cluster; they import the package by its name. */
const CLUSTERS = ["cluster.mjs", "cluster.cjs"] as const;
/** Consumers that are type-checked; they import every export by its specifier. */
const CONSUMERS = ["consumer.mts", "consumer.cts"] as const;
/** The program that runs the package's `x-cluster` command, and the server it runs. */
const CLI_SMOKE = ["cli.mjs", "cli_server.mjs"] as const;

/** A Node binary to run the smoke programs with. */
export interface NodeBinary {
  /** e.g. "node v20.20.2" */
  label: string;
  path: string;
}

/** Options of {@linkcode smokeTest}. */
export interface SmokeOptions {
  /**
   * The Node 20 binary.
   * @default {the first `node` v20 on PATH, in /usr/local/bin or in /usr/bin}
   */
  node20?: string;
}

function nodeVersion(binary: string): string | undefined {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * The Node binaries to test with: the pinned Node 24 and the machine's Node 20.
 *
 * @example
 * ```ts
 * import { findNodes } from "./smoke.ts";
 *
 * for (const node of findNodes()) console.log(node.label, node.path);
 * ```
 */
export function findNodes(node20Option?: string): NodeBinary[] {
  const pinned = path.join(TOOL_ROOT, "node_modules", ".bin", "node");
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

function specifierOf(config: Config, entry: Entry): string {
  return entry.key === "." ? config.name : `${config.name}/${entry.key.replace(/^\.\//, "")}`;
}

/**
 * The smoke programs name the package and its exports literally, as a consumer's code does: fail
 * with what to change when deno.json's name or exports moved on without them.
 */
function checkSmokePrograms(config: Config): void {
  const problems: string[] = [];
  const imports = (file: string, specifier: string) =>
    new RegExp(`(from|require\\()\\s*"${specifier.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}"`)
      .test(fs.readFileSync(path.join(SMOKE_DIR, file), "utf8"));
  for (const file of CLUSTERS) {
    if (!imports(file, config.name)) problems.push(`${file} does not import "${config.name}"`);
  }
  for (const file of CONSUMERS) {
    for (const entry of config.entries) {
      const specifier = specifierOf(config, entry);
      if (!imports(file, specifier)) problems.push(`${file} does not import "${specifier}"`);
    }
  }
  if (problems.length) {
    throw new BuildError(
      `the smoke programs in ${path.relative(TOOL_ROOT, SMOKE_DIR)}/ are out of date ` +
        `with deno.json's name and exports: update them`,
      problems.join("\n"),
    );
  }
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
  // What npm does at install for package.json's "bin": a symlink in node_modules/.bin and an
  // executable target.
  const bins = (JSON.parse(fs.readFileSync(path.join(target, "package.json"), "utf8")) as {
    bin?: Record<string, string>;
  }).bin ?? {};
  fs.mkdirSync(path.join(dir, "node_modules", ".bin"), { recursive: true });
  for (const [name, file] of Object.entries(bins)) {
    fs.chmodSync(path.join(target, file), 0o755);
    fs.symlinkSync(
      path.relative(path.join(dir, "node_modules", ".bin"), path.join(target, file)),
      path.join(dir, "node_modules", ".bin", name),
    );
    info(`linked node_modules/.bin/${name} -> ${file}`);
  }
}

async function checkLoading(config: Config, dir: string, nodes: NodeBinary[]): Promise<void> {
  const specifiers = config.entries.map((entry) => specifierOf(config, entry));
  for (const node of nodes) {
    const names: Record<string, string> = {};
    for (const file of LOADERS) {
      const result = await runOk(`${node.label} ${file}`, node.path, [file, ...specifiers], {
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
 * Type-checks the consumers (.mts and .cts) against the installed package with only @types/node
 * and without skipLibCheck, so the published .d.ts files are fully checked.
 */
async function checkTypes(dir: string): Promise<void> {
  writeJson(path.join(dir, "tsconfig.json"), {
    compilerOptions: {
      target: "ES2022",
      module: "nodenext",
      moduleResolution: "nodenext",
      lib: ["ES2023"],
      types: ["node"],
      typeRoots: [path.join(TOOL_ROOT, "node_modules", "@types")],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    },
    files: [...CONSUMERS],
  });
  // node16 has no require(esm): it catches CommonJS types that are really ES module types.
  for (const module of ["nodenext", "node16"]) {
    const args = [
      tscPath(),
      "-p",
      "tsconfig.json",
      "--module",
      module,
      "--moduleResolution",
      module,
    ];
    const result = await run(process.execPath, args, { cwd: dir, timeoutMs: SMOKE_TIMEOUT_MS * 4 });
    if (result.code !== 0) {
      throw new BuildError(
        `type-checking a consumer of the package (module ${module}) failed`,
        describeRun(result),
      );
    }
  }
  info(`${CONSUMERS.join(" and ")} type-check with only @types/node`);
  info("(module nodenext and node16, skipLibCheck off)");
}

async function runClusters(dir: string, nodes: NodeBinary[]): Promise<void> {
  for (const node of nodes) {
    for (const file of CLUSTERS) {
      const result = await runOk(`${node.label} ${file} (one-worker cluster)`, node.path, [file], {
        cwd: dir,
        timeoutMs: SMOKE_TIMEOUT_MS,
      });
      const ok = result.stdout.match(/^SMOKE_OK (.*)$/m);
      if (!ok) {
        throw new BuildError(
          `${node.label} ${file}: no message arrived from the worker`,
          describeRun(result),
        );
      }
      info(`${node.label}: ${file} one-worker cluster OK, message ${ok[1]}`);
    }
  }
}

/**
 * Runs the package's `x-cluster` command (cli.mjs) on each Node and on the pinned Bun, as `npx`
 * and `bunx` run it.
 */
async function runCommand(dir: string, nodes: NodeBinary[]): Promise<void> {
  const bun = path.join(TOOL_ROOT, "node_modules", ".bin", "bun");
  const runtimes = fs.existsSync(bun) ? [...nodes, { label: "bun", path: bun }] : nodes;
  for (const runtime of runtimes) {
    const result = await runOk(`${runtime.label} x-cluster -w 2`, runtime.path, [CLI_SMOKE[0]], {
      cwd: dir,
      timeoutMs: SMOKE_TIMEOUT_MS,
    });
    const ok = result.stdout.match(/^SMOKE_OK (.*)$/m);
    if (!ok) throw new BuildError(`${runtime.label} x-cluster: no answer`, describeRun(result));
    info(`${runtime.label}: x-cluster -w 2 served from pids ${ok[1]}, exit 0 after SIGTERM`);
  }
}

/**
 * Packs `outDir`, installs it into a temporary directory and there: import()s and require()s
 * every export on Node 24 and Node 20 (both builds must export the same names), type-checks an
 * ES module and a CommonJS consumer with only @types/node, and runs a one-worker cluster from
 * each build on both Nodes, and the `x-cluster` command on both Nodes and Bun. Throws a {@linkcode BuildError} at the first failure.
 *
 * @example
 * ```ts
 * import { readConfig } from "./config.ts";
 * import { smokeTest } from "./smoke.ts";
 *
 * await smokeTest(readConfig("."), "npm", { node20: "/usr/bin/node" });
 * ```
 */
export async function smokeTest(
  config: Config,
  outDir: string,
  options: SmokeOptions = {},
): Promise<void> {
  step("Smoke test: packing and installing into a temporary directory");
  checkSmokePrograms(config);
  const nodes = findNodes(options.node20);
  for (const node of nodes) info(`using ${node.label} at ${node.path}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "build-npm-smoke-"));
  try {
    await installPacked(config, outDir, dir);
    for (const file of [CHECKS, ...LOADERS, ...CLUSTERS, ...CONSUMERS, ...CLI_SMOKE]) {
      fs.copyFileSync(path.join(SMOKE_DIR, file), path.join(dir, file));
    }
    step("Smoke test: import() and require() of every export");
    await checkLoading(config, dir, nodes);
    step("Smoke test: type-checking consumers of the published declarations");
    await checkTypes(dir);
    step("Smoke test: one-worker cluster, ESM and CommonJS");
    await runClusters(dir, nodes);
    step("Smoke test: the x-cluster command");
    await runCommand(dir, nodes);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
