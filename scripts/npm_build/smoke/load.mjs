// Smoke test: import() every export of the installed package, as an ES module consumer does.
// Usage: node load.mjs <specifier>...   (the first is the main export, which must have Cluster)
// Prints `EXPORTS {"<specifier>": [names…]}` for comparison with load.cjs.

import process from "node:process";

const specifiers = process.argv.slice(2);
if (!specifiers.length) throw new Error("usage: node load.mjs <specifier>...");
const result = {};
for (const [i, specifier] of specifiers.entries()) {
  const where = import.meta.resolve(specifier);
  if (!where.includes("/esm/")) throw new Error(`${specifier} resolved to ${where}, not esm/`);
  const mod = await import(specifier);
  const names = Object.keys(mod).filter((n) => n !== "default" && n !== "__esModule").sort();
  if (!names.length) throw new Error(`${specifier} has no exports`);
  if (i === 0 && mod.Cluster === undefined) throw new Error(`${specifier} lacks export Cluster`);
  result[specifier] = names;
}
console.log(`EXPORTS ${JSON.stringify(result)}`);
