// Smoke test: require() every export of the installed package, as a CommonJS consumer does.
// Usage: node load.cjs <specifier>...   (the first is the main export, which must have Cluster)
// Prints `EXPORTS {"<specifier>": [names…]}` for comparison with load.mjs.

const { exportNames, specifiersFromArgs } = require("./_checks.cjs");

const result = {};
for (const [i, specifier] of specifiersFromArgs("load.cjs").entries()) {
  const mod = require(specifier);
  result[specifier] = exportNames(specifier, mod, require.resolve(specifier), "/script/", i === 0);
}
console.log(`EXPORTS ${JSON.stringify(result)}`);
