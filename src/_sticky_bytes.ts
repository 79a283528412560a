// The bytes of a request head the primary read, carried to the worker inside the `newconn`
// message (JSON-safe base64, whatever the channel's serialization), where the worker's HTTP
// server reads them again before the socket's own bytes.

/**
 * Base64 of `bytes`.
 *
 * @example
 * ```ts
 * import { toBase64 } from "./_sticky_bytes.ts";
 * console.log(toBase64(new Uint8Array([104, 105]))); // "aGk="
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    binary += String.fromCharCode(...bytes.subarray(i, Math.min(i + 4096, bytes.length)));
  }
  return btoa(binary);
}

/**
 * The bytes of a base64 string; `undefined` if it is not base64.
 *
 * @example
 * ```ts
 * import { fromBase64 } from "./_sticky_bytes.ts";
 * console.log(fromBase64("aGk=")); // Uint8Array [104, 105]
 * ```
 */
export function fromBase64(text: string): Uint8Array | undefined {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
