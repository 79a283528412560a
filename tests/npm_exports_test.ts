// Tests for scripts/npm_build/exports.ts: the npm export map the build writes agrees with
// deno.json's, and the comparison catches every kind of disagreement.
import { test } from "node:test";
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { jsrExports, readConfig, readJson } from "../scripts/npm_build/config.ts";
import { compareExportMaps, npmExports } from "../scripts/npm_build/exports.ts";
import { packageJsonFor } from "../scripts/npm_build/package_json.ts";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const jsr = { ".": "./mod.ts", "./compat": "./compat.ts" };
const npm = npmExports([
  { key: ".", source: "mod.ts", base: "mod" },
  { key: "./compat", source: "compat.ts", base: "compat" },
]);

test("the npm package.json of this repository exports what deno.json exports", () => {
  const config = readConfig(root);
  const written = packageJsonFor(config).exports as Record<string, unknown>;
  assert.deepEqual(compareExportMaps(jsrExports(readJson(`${root}/deno.json`)), written), []);
});

test("npmExports() gives each format its own declarations, plus ./package.json", () => {
  assert.deepEqual(npm["./compat"], {
    import: { types: "./esm/compat.d.ts", default: "./esm/compat.js" },
    require: { types: "./script/compat.d.ts", default: "./script/compat.js" },
  });
  assert.equal(npm["./package.json"], "./package.json");
  assert.deepEqual(compareExportMaps(jsr, npm), []);
});

test("compareExportMaps() reports a subpath npm lacks", () => {
  const { "./compat": _, ...rest } = npm;
  assert.deepEqual(compareExportMaps(jsr, rest), [
    'npm exports lack "./compat" (deno.json: ./compat.ts)',
  ]);
});

test("compareExportMaps() reports a subpath deno.json lacks", () => {
  assert.deepEqual(compareExportMaps({ ".": "./mod.ts" }, npm), [
    'npm export "./compat" is not in deno.json\'s exports',
  ]);
});

test("compareExportMaps() reports a target compiled from another file", () => {
  const moved = {
    ...npm,
    "./compat": npmExports([{ key: "./compat", source: "x.ts", base: "x" }])["./compat"],
  };
  const problems = compareExportMaps(jsr, moved);
  assert.equal(problems.length, 4);
  assert.match(
    problems[0],
    /^npm export "\.\/compat" import\.types is "\.\/esm\/x\.d\.ts", expected "\.\/esm\/compat\.d\.ts"/,
  );
});

test("compareExportMaps() reports an export that is a bare string", () => {
  const problems = compareExportMaps(jsr, { ...npm, ".": "./esm/mod.js" });
  assert.deepEqual(problems.map((p) => p.replace(/ is .*/, "")), [
    'npm export "." import.types',
    'npm export "." import.default',
    'npm export "." require.types',
    'npm export "." require.default',
  ]);
});
