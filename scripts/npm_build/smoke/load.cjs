// Smoke test: require() every export of the installed package, as a CommonJS consumer does.
// Usage: node load.cjs <specifier>...   (the first is the main export, which must have Cluster)
// Prints `EXPORTS {"<specifier>": [names…]}` for comparison with load.mjs.

const process = require("node:process");

const specifiers = process.argv.slice(2);
if (!specifiers.length) throw new Error("usage: node load.cjs <specifier>...");
const result = {};
for (const [i, specifier] of specifiers.entries()) {
  const where = require.resolve(specifier);
  if (!where.includes("/script/")) {
    throw new Error(`${specifier} resolved to ${where}, not script/`);
  }
  const mod = require(specifier);
  const names = Object.keys(mod).filter((n) => n !== "default" && n !== "__esModule").sort();
  if (!names.length) throw new Error(`${specifier} has no exports`);
  if (i === 0 && mod.Cluster === undefined) throw new Error(`${specifier} lacks export Cluster`);
  result[specifier] = names;
}
console.log(`EXPORTS ${JSON.stringify(result)}`);
