// Smoke test: import() every export of the installed package, as an ES module consumer does.
// Usage: node load.mjs <specifier>...   (the first is the main export, which must have Cluster)
// Prints `EXPORTS {"<specifier>": [names…]}` for comparison with load.cjs.

import { exportNames, specifiersFromArgs } from "./_checks.cjs";

const result = {};
for (const [i, specifier] of specifiersFromArgs("load.mjs").entries()) {
  const mod = await import(specifier);
  result[specifier] = exportNames(specifier, mod, import.meta.resolve(specifier), "/esm/", i === 0);
}
console.log(`EXPORTS ${JSON.stringify(result)}`);
