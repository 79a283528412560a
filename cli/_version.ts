// The version x-cluster --version prints. It is the package's (deno.json's "version"), written
// here because the CLI also runs from the npm build and from JSR, where deno.json cannot be read
// as a module; tests/cli_args_test.ts fails when the two disagree.

/**
 * The package version.
 *
 * @example
 * ```ts
 * import { VERSION } from "./_version.ts";
 * console.log(`x-cluster ${VERSION}`);
 * ```
 */
export const VERSION = "0.1.0";
