// Compiling the exports with the pinned tsc, once per output format: npm/esm (ES modules) and
// npm/script (CommonJS), each with its own .d.ts files.

import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import process from "node:process";
import { BuildError, runOk } from "./_run.ts";
import { type Config, TOOL_ROOT } from "./config.ts";

/** An output format: the name of its directory under npm/. */
export type Format = "esm" | "script";

/** Both formats, in build order. */
export const FORMATS: readonly Format[] = ["esm", "script"];

/**
 * The pinned TypeScript compiler's entry script, from the repository's node_modules.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { tscPath } from "./compile.ts";
 *
 * console.log(process.execPath, tscPath(), "--version");
 * ```
 */
export function tscPath(): string {
  const require = createRequire(path.join(TOOL_ROOT, "package.json"));
  try {
    return path.join(path.dirname(require.resolve("typescript/package.json")), "bin", "tsc");
  } catch {
    throw new BuildError(
      `typescript is not installed in ${TOOL_ROOT}node_modules (run npm install)`,
    );
  }
}

/**
 * Writes a temporary tsconfig for one output format and runs tsc with it. The config extends the
 * repository's tsconfig.json (same strictness, lib and types as `npm run check`) but compiles only
 * the export entry files; tsc follows their imports, static and dynamic, so exactly the reachable
 * sources (not tests, bench, examples, scripts) are compiled.
 *
 * @example
 * ```ts
 * import { compile } from "./compile.ts";
 * import { readConfig } from "./config.ts";
 *
 * await compile(readConfig("."), "npm", "esm"); // npm/esm/**.js + .d.ts
 * ```
 */
export async function compile(config: Config, outDir: string, format: Format): Promise<void> {
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
