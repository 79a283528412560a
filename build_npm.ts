/**
 * build_npm.ts: builds the npm package of this repository into `npm/`.
 *
 * This script does by hand what dnt (jsr:@deno/dnt) would normally do for us: JSR is unreachable
 * from our build machines, so dnt cannot be installed. It uses only Node built-ins plus the
 * pinned TypeScript compiler (`tsc`, TypeScript 7) from node_modules. Its parts are in
 * `scripts/npm_build/`:
 *
 *   1. config.ts        read `deno.json` (name, version, exports: the source of truth) and
 *                       `package.json` (description, ...);
 *   2. compile.ts       compile every source reachable from the exports twice with tsc:
 *                         npm/esm/**     ES modules + .d.ts   (module: nodenext)
 *                         npm/script/**  CommonJS + .d.ts     (module: commonjs, plus
 *                                        script/package.json)
 *   3. declarations.ts  rewrite `.ts` specifiers in the .d.ts files to `.js` (tsc's
 *                       rewriteRelativeImportExtensions does it for JavaScript only);
 *      bundle.ts        the core (mod, internal and everything they import) in one _bundle.js
 *                       per format, so that a process loads one file, not ~60 (startup,
 *                       issue #10); mod.js and internal.js become facades over it;
 *      verify.ts        every relative specifier resolves to an emitted file, and the published
 *                       .d.ts files do not reference Deno or Bun types;
 *   4. package_json.ts  write npm/package.json; exports.ts checks that its export map agrees
 *                       with deno.json's; copy README.md and LICENSE;
 *   5. smoke.ts         smoke-test the packed package (unless --no-smoke) with the programs in
 *                       scripts/npm_build/smoke/: import() and require() of every export on Node 24
 *                       and Node 20, type-check a consumer with only @types/node, and run a
 *                       one-worker cluster (ESM and CJS) on both Node versions.
 *
 * Usage:
 *   npm run build:npm                      (= node build_npm.ts)
 *   node build_npm.ts --root DIR           build another checkout (e.g. a throwaway copy;
 *                                          it needs node_modules, a symlink will do)
 *   node build_npm.ts --no-smoke           skip step 5
 *   node build_npm.ts --node20 PATH        Node 20 binary for the smoke test (default: found
 *                                          on PATH, or in /usr/bin, /usr/local/bin)
 */
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { BuildError, info, step } from "./scripts/npm_build/_run.ts";
import { listFiles } from "./scripts/npm_build/_text.ts";
import { BUNDLE_FILE, bundleCore, CORE_ENTRIES } from "./scripts/npm_build/bundle.ts";
import { compile, FORMATS } from "./scripts/npm_build/compile.ts";
import {
  checkPublishedFiles,
  type Config,
  jsrExports,
  PUBLISHED_FILES,
  readConfig,
  readJson,
  TOOL_ROOT,
  writeJson,
} from "./scripts/npm_build/config.ts";
import { rewriteDeclarationSpecifiers } from "./scripts/npm_build/declarations.ts";
import { compareExportMaps } from "./scripts/npm_build/exports.ts";
import { packageJsonFor } from "./scripts/npm_build/package_json.ts";
import { smokeTest } from "./scripts/npm_build/smoke.ts";
import { verifyOutput } from "./scripts/npm_build/verify.ts";

const OUT_DIR_NAME = "npm";

/** Steps 1 to 4: compiles, checks and writes the package into `root`/npm; returns that path. */
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

  step(`Bundling the core (${CORE_ENTRIES.join(", ")} and their imports) into ${BUNDLE_FILE}`);
  info(`npm/esm, npm/script: ${bundleCore(outDir)} modules in ${BUNDLE_FILE}, facades over it`);

  step("Rewriting .ts specifiers in declaration files");
  for (const format of FORMATS) {
    const count = rewriteDeclarationSpecifiers(path.join(outDir, format));
    info(`npm/${format}: ${count} specifier(s) rewritten`);
  }

  step("Checking the output");
  for (const format of FORMATS) {
    const dir = path.join(outDir, format);
    verifyOutput(config, dir);
    const js = listFiles(dir, ".js").length;
    info(`npm/${format}: ${js} .js + ${listFiles(dir, ".d.ts").length} .d.ts, specifiers resolve`);
  }

  step(`Writing npm/package.json, ${PUBLISHED_FILES.join(", ")}`);
  const packageJsonFile = path.join(outDir, "package.json");
  writeJson(packageJsonFile, packageJsonFor(config));
  // Read back what was written, as npm will: the check is on the file, not on the intent.
  const written = readJson(packageJsonFile).exports as Record<string, unknown>;
  const disagreements = compareExportMaps(
    jsrExports(readJson(path.join(config.root, "deno.json"))),
    written,
  );
  if (disagreements.length) {
    throw new BuildError(
      "npm/package.json and deno.json export different maps",
      disagreements.join("\n"),
    );
  }
  info(`export maps agree with deno.json (${config.entries.length} entries)`);
  for (const file of PUBLISHED_FILES) {
    fs.copyFileSync(path.join(config.root, file), path.join(outDir, file));
  }
  info("done");
  return outDir;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      root: { type: "string" },
      "no-smoke": { type: "boolean", default: false },
      node20: { type: "string" },
    },
  });
  const root = path.resolve(values.root ?? TOOL_ROOT);
  const config = readConfig(root);
  const outDir = await build(config);
  if (values["no-smoke"]) {
    step("Smoke test skipped (--no-smoke)");
  } else {
    await smokeTest(config, outDir, { node20: values.node20 });
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
