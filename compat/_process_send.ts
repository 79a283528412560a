// Ports what target.send() of lib/internal/child_process.js does for a worker's
// `process.send(message, socket)`: the socket leaves this process, and the server that
// accepted it stops counting it. Node closes the socket's handle underneath it (the socket never
// emits `close`) and lowers `server._connections`. Our core's servers count their connections
// by `close` events, so a socket sent that way would keep a closing server (and the worker's
// disconnect) waiting forever. Compat sends it with `keepOpen` and destroys it once written,
// as our adapter does with the sockets it sends (Deno may otherwise close it before its
// descriptor was written). Everything else goes to the runtime's process.send() untouched.

import net from "node:net";
import process from "node:process";

type Send = (...args: unknown[]) => boolean;
type Callback = (error: Error | null) => void;

const INSTALLED = Symbol("@x/cluster/compat.send");

/** Wraps this worker's `process.send` (once). */
export function installSendRouting(): void {
  const original = process.send as Send | undefined;
  if (typeof original !== "function" || Object.hasOwn(original, INSTALLED)) return;
  const send: Send = function (this: unknown, ...args: unknown[]): boolean {
    const [message, handle, third, fourth] = args;
    const options = typeof third === "object" && third !== null ? third : undefined;
    const callback = [third, fourth].find((a) => typeof a === "function") as Callback | undefined;
    if (!(handle instanceof net.Socket) || (options as { keepOpen?: unknown })?.keepOpen) {
      return original.apply(this, args);
    }
    const sent = (error: Error | null) => {
      if (!error) handle.destroy();
      if (callback) callback(error);
      else if (error) process.emit("error" as never, error as never);
    };
    return original.call(this, message, handle, { ...options, keepOpen: true }, sent);
  };
  Object.defineProperty(send, INSTALLED, { value: true });
  process.send = send as typeof process.send;
}
