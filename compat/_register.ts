// `@x/cluster/register`'s second step, once compat's cluster object exists: makes `node:cluster`
// (and `cluster`) that object for the rest of the process, for the program and for every library
// it loads (prom-client's AggregatorRegistry, @socket.io/sticky, throng …).
// - Node: synchronous module hooks (module.registerHooks, Node >= 22.15 / 23.5) resolve the two
//   specifiers, from `import` and from `require`, to a module that exports the one cluster
//   object; before those, module.register() for import and Module._load for require. Node's own modules (net, dgram) keep the real one: their internal require is not
//   hooked, and they call into node:cluster internals (`_getServer`) that compat does not have.
// - Bun: the object already is Bun's `node:cluster` (_register_target.ts), before the program
//   first imports it (which fixes its ES named exports).
// - Deno: refused (see docs/compat.md): `deno run --preload` can empty and refill the object, but
//   a named import keeps Deno's own binding, and Deno's `process.execArgv` does not show the
//   flag, so workers would start without it, see Deno's own cluster and fork workers of their
//   own.
// Workers inherit the flag (`--import` / `--preload` are in process.execArgv on Node and Bun).

import module from "node:module";
import process from "node:process";
import { ClusterError } from "../mod.ts";
import type { CompatCluster } from "./_cluster.ts";

/** Where the mapped module finds the cluster object. */
const PUBLISHED = "@x/cluster/compat.cluster";
const ESM_URL = "x-cluster:compat";
const CJS_URL = "x-cluster:compat-require";
const SPECIFIERS = new Set(["cluster", "node:cluster"]);

interface Hooks {
  resolve(
    specifier: string,
    context: { conditions?: readonly string[] },
    next: (specifier: string, context: unknown) => unknown,
  ): unknown;
  load(url: string, context: unknown, next: (url: string, context: unknown) => unknown): unknown;
}

/** Makes `node:cluster` resolve to `cluster` in this process, or throws where it cannot. */
export function register(cluster: CompatCluster): void {
  const g = globalThis as { Deno?: { version?: { deno?: string } }; Bun?: unknown };
  if (typeof g.Deno === "object") {
    throw new ClusterError(
      "UNSUPPORTED",
      `Cannot register @x/cluster as node:cluster on Deno ${g.Deno.version?.deno ?? ""}: ` +
        "Deno keeps its own node:cluster for named imports and does not pass --preload on " +
        "to the workers; import @x/cluster/compat instead of node:cluster",
    );
  }
  (globalThis as Record<symbol, unknown>)[Symbol.for(PUBLISHED)] = cluster;
  if (typeof g.Bun === "object") return;
  const hooks = module as unknown as NodeModuleHooks;
  if (typeof hooks.registerHooks === "function") {
    hooks.registerHooks(syncHooks(cluster));
  } else if (typeof hooks.register === "function" && typeof hooks.Module?._load === "function") {
    // Node 20.6 to 22.14: the off-thread hooks of module.register() serve `import`; `require`
    // is answered by Module._load, which Node's own modules do not go through.
    hooks.register(`data:text/javascript,${encodeURIComponent(asyncHooksSource(cluster))}`);
    const load = hooks.Module._load;
    hooks.Module._load = function (this: unknown, request: unknown, ...rest: unknown[]) {
      return typeof request === "string" && SPECIFIERS.has(request)
        ? cluster
        : load.call(this, request, ...rest);
    };
  } else {
    throw new ClusterError(
      "UNSUPPORTED",
      `Cannot register @x/cluster as node:cluster on Node ${process.versions.node}: it has ` +
        "no module hooks (Node >= 20.6 has them); upgrade Node, or import @x/cluster/compat " +
        "instead of node:cluster",
    );
  }
}

/** What node:module offers to hook resolution, by Node version. */
interface NodeModuleHooks {
  /** Node >= 22.15 / 23.5: synchronous hooks, for import and require. */
  registerHooks?: (hooks: Hooks) => unknown;
  /** Node >= 20.6: off-thread hooks, for import only. */
  register?: (specifier: string) => void;
  Module?: { _load?: (request: unknown, ...rest: unknown[]) => unknown };
}

function syncHooks(cluster: CompatCluster): Hooks {
  return {
    resolve(specifier, context, next) {
      if (!SPECIFIERS.has(specifier)) return next(specifier, context);
      const required = context.conditions?.includes("require") ?? false;
      return {
        url: required ? CJS_URL : ESM_URL,
        format: required ? "commonjs" : "module",
        shortCircuit: true,
      };
    },
    load(url, context, next) {
      if (url === CJS_URL) return { format: "commonjs", shortCircuit: true, source: cjsSource() };
      if (url === ESM_URL) {
        return { format: "module", shortCircuit: true, source: esmSource(cluster) };
      }
      return next(url, context);
    },
  };
}

/** module.register()'s hooks module: `import` of the specifiers gets esmSource(). */
function asyncHooksSource(cluster: CompatCluster): string {
  const target = `data:text/javascript,${encodeURIComponent(esmSource(cluster))}`;
  return [
    `const specifiers = new Set(${JSON.stringify([...SPECIFIERS])});`,
    "export async function resolve(specifier, context, next) {",
    "  if (!specifiers.has(specifier)) return next(specifier, context);",
    `  return { url: ${JSON.stringify(target)}, format: "module", shortCircuit: true };`,
    "}",
    "",
  ].join("\n");
}

function lookup(): string {
  return `globalThis[Symbol.for(${JSON.stringify(PUBLISHED)})]`;
}

function cjsSource(): string {
  return `module.exports = ${lookup()};\n`;
}

/** The default export and one named export per member, as Node's builtin module has them. */
function esmSource(cluster: CompatCluster): string {
  const names = Object.keys(cluster).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name));
  return [
    `const cluster = ${lookup()};`,
    "export default cluster;",
    ...names.map((name) => `export const ${name} = cluster[${JSON.stringify(name)}];`),
    "",
  ].join("\n");
}
