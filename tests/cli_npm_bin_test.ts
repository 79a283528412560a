// The npm build installs the `x-cluster` command from the ./cli export (the smoke test of
// build_npm.ts runs it from the packed package on Node 24, Node 20 and Bun), and the JSR
// package publishes cli.ts and cli/ (deno.json's exports and publish.include).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { readConfig, readJson } from "../scripts/npm_build/config.ts";
import { packageJsonFor } from "../scripts/npm_build/package_json.ts";

const root = dirname(dirname(fileURLToPath(import.meta.url)));

test("the npm package.json has the x-cluster bin, the ES module build of ./cli", () => {
  const written = packageJsonFor(readConfig(root));
  assert.deepEqual(written.bin, { "x-cluster": "./esm/cli.js" });
  const exports = written.exports as Record<string, { import: { default: string } }>;
  assert.equal(exports["./cli"].import.default, "./esm/cli.js");
});

test("cli.ts starts with the node shebang that the bin needs", () => {
  const source = readFileSync(`${root}/cli.ts`, "utf8");
  assert.ok(source.startsWith("#!/usr/bin/env node\n"));
});

test("deno.json exports ./cli and publishes cli.ts and cli/", () => {
  const deno = readJson(`${root}/deno.json`) as {
    exports: Record<string, string>;
    publish: { include: string[] };
  };
  assert.equal(deno.exports["./cli"], "./cli.ts");
  for (const path of ["cli.ts", "cli/**/*.ts"]) assert.ok(deno.publish.include.includes(path));
});
