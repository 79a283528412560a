// The value parsers of x-cluster's options. Each takes a value as it came (a command-line string,
// or any JSON value from a config file) and the name to blame (`--workers`, or
// `x-cluster.json: "workers"`), and returns the value or throws a UsageError that says what
// would be right.

import type { Policy } from "../mod.ts";
import { UsageError } from "./_usage_error.ts";

/** Turns a raw value into an option's value; throws a {@linkcode UsageError} naming `name`. */
export type Parse<T> = (value: unknown, name: string) => T;

/** The policies a cluster takes (`Policy` of the public API). */
export const POLICY_NAMES: readonly Policy[] = ["round-robin", "shared", "reuse-port"];

/** How worker output is written: prefixed lines, or one JSON object per line. */
export type LogFormat = "text" | "json";

/** The log formats, for `--log-format`. */
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

function fail(name: string, expected: string, value: unknown): never {
  throw new UsageError(`${name} must be ${expected}: got ${JSON.stringify(value)}`);
}

/** A number as written: a JSON number, or a decimal string. */
function numeric(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * An integer >= `min`.
 *
 * @example
 * ```ts
 * import { integer } from "./_values.ts";
 * integer(1)("4", "--reload-concurrency"); // 4
 * ```
 */
export function integer(min: number): Parse<number> {
  const expected = min === 0 ? "an integer >= 0" : `an integer >= ${min}`;
  return (value, name) => {
    const n = numeric(value);
    if (n === undefined || !Number.isSafeInteger(n) || n < min) fail(name, expected, value);
    return n;
  };
}

/**
 * `--workers`: a positive integer, or `"auto"` (`undefined`: the core's default, the CPUs
 * available to the process).
 *
 * @example
 * ```ts
 * import { workers } from "./_values.ts";
 * workers("auto", "--workers"); // undefined
 * ```
 */
export const workers: Parse<number | undefined> = (value, name) => {
  if (value === "auto") return undefined;
  const n = numeric(value);
  if (n === undefined || !Number.isSafeInteger(n) || n < 1) {
    fail(name, 'a positive integer or "auto"', value);
  }
  return n;
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/**
 * A duration in ms: a number, or a string with an optional unit (`500`, `500ms`, `30s`, `2m`).
 * `min` is the smallest allowed value (0 or 1).
 *
 * @example
 * ```ts
 * import { duration } from "./_values.ts";
 * duration(1)("30s", "--ready-timeout"); // 30000
 * ```
 */
export function duration(min: number): Parse<number> {
  const expected = `a duration${min > 0 ? " > 0" : ""} like 500 (ms), 500ms, 30s or 2m`;
  return (value, name) => {
    let ms: number | undefined;
    if (typeof value === "number") ms = value;
    else if (typeof value === "string") {
      const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(value);
      if (match) ms = Number(match[1]) * DURATION_UNITS[match[2] ?? "ms"];
    }
    if (ms === undefined || !Number.isFinite(ms) || ms < min) fail(name, expected, value);
    return Math.round(ms);
  };
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * A size in bytes: a number, or a string with an optional binary unit (`536870912`, `512M`,
 * `512MB`, `1G`; K, M and G are powers of 1024).
 *
 * @example
 * ```ts
 * import { bytes } from "./_values.ts";
 * bytes("512M", "--max-memory"); // 536870912
 * ```
 */
export const bytes: Parse<number> = (value, name) => {
  let n: number | undefined;
  if (typeof value === "number") n = value;
  else if (typeof value === "string") {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(value);
    if (match) n = Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()];
  }
  if (n === undefined || !Number.isFinite(n) || n < 0) {
    fail(name, "a size in bytes like 536870912, 512M or 1G", value);
  }
  return Math.round(n);
};

/**
 * One of `choices`.
 *
 * @example
 * ```ts
 * import { oneOf, POLICY_NAMES } from "./_values.ts";
 * oneOf(POLICY_NAMES)("shared", "--policy"); // "shared"
 * ```
 */
export function oneOf<T extends string>(choices: readonly T[]): Parse<T> {
  const expected = choices.length === 2
    ? `${choices[0]} or ${choices[1]}`
    : `one of ${choices.join(", ")}`;
  return (value, name) => {
    if (!choices.includes(value as T)) fail(name, expected, value);
    return value as T;
  };
}

/**
 * A boolean (config files; on the command line `--respawn` / `--no-respawn`).
 *
 * @example
 * ```ts
 * import { boolean } from "./_values.ts";
 * boolean(false, 'x-cluster.json: "respawn"'); // false
 * ```
 */
export const boolean: Parse<boolean> = (value, name) => {
  if (typeof value !== "boolean") fail(name, "true or false", value);
  return value;
};

/**
 * A non-empty string.
 *
 * @example
 * ```ts
 * import { text } from "./_values.ts";
 * text("server.js", 'x-cluster.json: "script"'); // "server.js"
 * ```
 */
export const text: Parse<string> = (value, name) => {
  if (typeof value !== "string" || value === "") fail(name, "a non-empty string", value);
  return value;
};

/**
 * An array of strings (the script's `args` in a config file).
 *
 * @example
 * ```ts
 * import { strings } from "./_values.ts";
 * strings(["--port", "3000"], 'x-cluster.json: "args"');
 * ```
 */
export const strings: Parse<string[]> = (value, name) => {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    fail(name, 'an array of strings, e.g. ["--port", "3000"]', value);
  }
  return [...value];
};

/**
 * Environment variables: `KEY=VALUE` strings (each `--env`) or, in a config file, an object of
 * strings. Later entries win.
 *
 * @example
 * ```ts
 * import { env } from "./_values.ts";
 * env(["PORT=3000", "MODE=a=b"], "--env"); // { PORT: "3000", MODE: "a=b" }
 * ```
 */
export const env: Parse<Record<string, string>> = (value, name) => {
  const result: Record<string, string> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      const match = typeof item === "string" ? /^([^=]+)=(.*)$/s.exec(item) : null;
      if (!match) fail(name, "KEY=VALUE, e.g. --env PORT=3000", item);
      result[match[1]] = match[2];
    }
    return result;
  }
  if (typeof value !== "object" || value === null) {
    fail(name, 'an object of strings, e.g. { "PORT": "3000" }', value);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") fail(`${name}.${key}`, 'a string (write "3000", not 3000)', item);
    result[key] = item;
  }
  return result;
};

/**
 * Paths to watch: comma-separated strings (each `--watch`) or, in a config file, a string or an
 * array of strings.
 *
 * @example
 * ```ts
 * import { paths } from "./_values.ts";
 * paths(["src,lib", "config"], "--watch"); // ["src", "lib", "config"]
 * ```
 */
export const paths: Parse<string[]> = (value, name) => {
  const items = typeof value === "string" ? [value] : value;
  if (!Array.isArray(items) || !items.every((item) => typeof item === "string")) {
    fail(name, 'paths: "src" or ["src", "lib"]', value);
  }
  const result = items.flatMap((item) => item.split(",")).map((item) => item.trim())
    .filter(Boolean);
  if (result.length === 0) fail(name, "at least one path, e.g. --watch src", value);
  return result;
};

/**
 * A listen address for `--metrics`: `port` or `host:port` (`[::1]:9100` for IPv6); the host
 * defaults to the core's (127.0.0.1).
 *
 * @example
 * ```ts
 * import { listenAddress } from "./_values.ts";
 * listenAddress("0.0.0.0:9100", "--metrics"); // { hostname: "0.0.0.0", port: 9100 }
 * ```
 */
export const listenAddress: Parse<{ hostname?: string; port: number }> = (value, name) => {
  const text = typeof value === "number" ? String(value) : value;
  const match = typeof text === "string"
    ? /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text.trim())
    : null;
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) fail(name, "a port or host:port, e.g. 9100 or 0.0.0.0:9100", value);
  const host = match[1]?.replace(/^\[(.*)\]$/, "$1");
  return host === undefined ? { port } : { hostname: host, port };
};
