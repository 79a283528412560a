// Checks a message before it is written to an IPC channel where the runtime would crash, wedge
// its channel or mangle the value instead of throwing (Node and Bun throw a TypeError or
// RangeError at the sender for what they cannot serialize, and that is turned into a TypeError
// by the caller). Measured on Deno 2.9.6, Node 24, Bun 1.4:
// - Deno, json: a cycle panics the sender; a value nested more than 127 levels deep is written,
//   but the receiver's parser fails ("recursion limit exceeded") and its channel reads nothing
//   more; a bigint or symbol fails the write asynchronously; a function is sent as `{}` and
//   `toJSON()` is not called, where JSON.stringify drops the one and calls the other.
// - Deno, advanced: every value the serializer rejects (function, symbol, too deep) crashes
//   the sender after the send failed ("Missing promise"); receivers fail from ~3000 levels.
// - Node, advanced: the receiver's deserializer overflows its stack from ~2000 levels (an
//   uncaught RangeError in the receiving process).

import type { Serialization } from "../src/types.ts";

/** Levels of arrays/objects Deno's JSON channel parses, the message's own object included. */
const DENO_JSON_DEPTH = 127;
/** Levels the advanced (structured clone) channels of Deno and Node carry with a margin. */
const ADVANCED_DEPTH = 1000;

/**
 * What a sender must do with a message before writing it; `wrapped` is true when it travels
 * with a handle (the runtime then wraps it in one more object).
 */
export type SendCheck = (message: unknown, wrapped: boolean) => unknown;

/**
 * The check a runtime's channel needs for a serialization, or `undefined` if its own send
 * throws for everything it cannot carry. The check returns the message to write (Deno json:
 * a copy with JSON's semantics when the value holds functions, symbols or `toJSON`) or throws
 * a TypeError saying why the value cannot be sent.
 */
export function sendCheck(runtime: string, serialization: Serialization): SendCheck | undefined {
  if (serialization === "json") return runtime === "deno" ? checkDenoJson : undefined;
  if (runtime === "deno") return checkDenoAdvanced;
  if (runtime === "node") return checkAdvancedDepth;
  return undefined;
}

function checkDenoJson(message: unknown, wrapped: boolean): unknown {
  const normalize = walkJson(message, [], wrapped ? 2 : 1);
  // JSON.stringify gives Node's result (drops functions and symbols, calls toJSON); only values
  // Deno would mangle pay for the copy.
  return normalize ? JSON.parse(JSON.stringify(message)) : message;
}

/** Returns true if `value` holds something Deno's serializer treats unlike JSON.stringify. */
function walkJson(value: unknown, ancestors: object[], depth: number): boolean {
  if (typeof value === "bigint") {
    throw new TypeError(
      `Cannot send a BigInt with serialization "json": convert it to a string or number, ` +
        `or use serialization "advanced"`,
    );
  }
  if (typeof value === "function" || typeof value === "symbol") return true;
  if (typeof value !== "object" || value === null) return false;
  if (depth > DENO_JSON_DEPTH) throw tooDeep(DENO_JSON_DEPTH, "json");
  if (ancestors.includes(value)) {
    throw new TypeError(
      "Cannot send a value with a cycle (an object that contains itself) with serialization " +
        `"json": remove the cycle or use serialization "advanced"`,
    );
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return true;
  ancestors.push(value);
  let normalize = false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      normalize = walkJson(value[i], ancestors, depth + 1) || normalize;
    }
  } else {
    for (const key in value) {
      if (Object.hasOwn(value, key)) {
        normalize = walkJson((value as Record<string, unknown>)[key], ancestors, depth + 1) ||
          normalize;
      }
    }
  }
  ancestors.pop();
  return normalize;
}

function checkDenoAdvanced(message: unknown, wrapped: boolean): unknown {
  walkClone(message, new Set(), wrapped ? 2 : 1, true);
  return message;
}

function checkAdvancedDepth(message: unknown, wrapped: boolean): unknown {
  walkClone(message, new Set(), wrapped ? 2 : 1, false);
  return message;
}

/** Throws for what structured clone cannot carry (`strict`) or carries too deep to read back. */
function walkClone(value: unknown, seen: Set<object>, depth: number, strict: boolean): void {
  if (strict && (typeof value === "function" || typeof value === "symbol")) {
    throw new TypeError(
      `Cannot send a ${typeof value}: structured clone ("advanced" serialization) cannot ` +
        "copy it; send plain data",
    );
  }
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  if (depth > ADVANCED_DEPTH) throw tooDeep(ADVANCED_DEPTH, "advanced");
  if (
    strict && (value instanceof WeakMap || value instanceof WeakSet || value instanceof Promise)
  ) {
    throw new TypeError(
      `Cannot send a ${value.constructor.name}: structured clone cannot copy it; send plain data`,
    );
  }
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) {
      walkClone(k, seen, depth + 1, strict);
      walkClone(v, seen, depth + 1, strict);
    }
  } else if (value instanceof Set) {
    for (const v of value) walkClone(v, seen, depth + 1, strict);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walkClone(value[i], seen, depth + 1, strict);
  } else if (!ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) {
    for (const key in value) {
      if (Object.hasOwn(value, key)) {
        walkClone((value as Record<string, unknown>)[key], seen, depth + 1, strict);
      }
    }
  }
}

function tooDeep(limit: number, serialization: Serialization): TypeError {
  return new TypeError(
    `Cannot send a value nested more than ${limit} levels deep with serialization ` +
      `"${serialization}": the receiving side cannot read it back; flatten it`,
  );
}
