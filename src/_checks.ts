// Validators of option values, in std's style: each returns the value or throws a TypeError
// (wrong type) or RangeError (out of range) whose message names the option, the value and
// what would work: "Cannot create the cluster: 'workers' must be an integer >= 0: current
// value is -1".

/** Timers fire at once beyond this (a 32-bit signed millisecond count): about 24.8 days. */
const MAX_DELAY = 2 ** 31 - 1;

/** Validators whose errors start with `where` (e.g. "Cannot create the cluster"). */
export interface Checks {
  /** A safe integer >= `min`. */
  integer(name: string, value: unknown, min: number): number;
  /** A finite number >= `min`, or `fallback` when `undefined`. */
  number(name: string, value: unknown, fallback: number, min: number): number;
  /** A duration (ms) a timer can wait: >= `min` and at most 2^31-1; `fallback` if undefined. */
  delay(name: string, value: unknown, fallback: number, min: number): number;
  /** A boolean, or `fallback` when `undefined`. */
  flag(name: string, value: unknown, fallback: boolean): boolean;
  /** A non-empty string. */
  text(name: string, value: unknown): string;
  /** An array of strings (copied and frozen). */
  strings(name: string, value: unknown): readonly string[];
  /** One of `choices`. */
  oneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): T;
  /** Throws "`where`: '`name`' must be `what`: current value is `value`[; `hint`]". */
  fail(
    Kind: TypeErrorConstructor | RangeErrorConstructor,
    name: string,
    what: string,
    value: unknown,
    hint?: string,
  ): never;
}

/**
 * The validators for one place (`where` starts every message).
 *
 * @example
 * ```ts
 * import { checks } from "./_checks.ts";
 * const check = checks("Cannot create the cluster");
 * check.integer("workers", 2, 0); // 2
 * ```
 */
export function checks(where: string): Checks {
  const fail: Checks["fail"] = (Kind, name, what, value, hint) => {
    throw new Kind(
      `${where}: '${name}' must be ${what}: current value is ${show(value)}` +
        (hint ? `; ${hint}` : ""),
    );
  };
  const number: Checks["number"] = (name, value, fallback, min) => {
    if (value === undefined) return fallback;
    if (typeof value !== "number") fail(TypeError, name, `a number >= ${min}`, value);
    if (!Number.isFinite(value) || value < min) {
      fail(RangeError, name, `a finite number >= ${min}`, value);
    }
    return value;
  };
  return {
    fail,
    number,
    integer(name, value, min) {
      if (typeof value !== "number") fail(TypeError, name, `an integer >= ${min}`, value);
      if (!Number.isSafeInteger(value) || value < min) {
        fail(RangeError, name, `an integer >= ${min}`, value);
      }
      return value;
    },
    delay(name, value, fallback, min) {
      const ms = number(name, value, fallback, min);
      if (ms > MAX_DELAY) {
        fail(RangeError, name, `at most ${MAX_DELAY} ms (timers fire at once beyond)`, ms);
      }
      return ms;
    },
    flag(name, value, fallback) {
      if (value === undefined) return fallback;
      if (typeof value !== "boolean") fail(TypeError, name, "true or false", value);
      return value;
    },
    text(name, value) {
      if (typeof value !== "string" || value === "") {
        fail(TypeError, name, "a non-empty string", value);
      }
      return value;
    },
    strings(name, value) {
      if (!Array.isArray(value)) fail(TypeError, name, "an array of strings", value);
      const bad = value.findIndex((item) => typeof item !== "string");
      if (bad !== -1) fail(TypeError, `${name}[${bad}]`, "a string", value[bad]);
      return Object.freeze([...value]);
    },
    oneOf(name, value, choices) {
      if (!choices.includes(value as never)) {
        fail(TypeError, name, `one of ${choices.map((c) => `"${c}"`).join(", ")}`, value);
      }
      return value as (typeof choices)[number];
    },
  };
}

/**
 * A value as a message shows it: strings quoted, objects as short JSON, never throwing.
 *
 * @example
 * ```ts
 * import { show } from "./_checks.ts";
 * show("x"); // '"x"'
 * ```
 */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol" || typeof value === "bigint") {
    return `${String(value)} (a ${typeof value})`;
  }
  if (typeof value !== "object" || value === null) return String(value);
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return Array.isArray(value) ? "an array" : "an object";
  }
}

/**
 * Whether `value` is an object that is not `null` or an array.
 *
 * @example
 * ```ts
 * import { isPlainObject } from "./_checks.ts";
 * isPlainObject([]); // false
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
