// The fake child_process IPC target the endpoint's unit tests share: it records each write and
// plays the runtime's events (`internalMessage`, `disconnect`…) when the test emits them; the
// endpoint emits the messages of a batch on it too, as on a real ChildProcess or `process`.

/** One recorded write: the message, its handle and the options it was sent with. */
export interface FakeWrite {
  message: unknown;
  handle: unknown;
  options: unknown;
}

/**
 * A connected target whose `send()` records the write (and calls a write callback on the next
 * microtask, as a write that completed); `emit` plays an event of the runtime.
 *
 * @example
 * ```ts ignore
 * const { target, writes, emit } = fakeTarget();
 * const endpoint = new IpcEndpoint(target, "node", "json", events);
 * emit("internalMessage", { cmd: "NODE_HANDLE_ACK" });
 * ```
 */
export function fakeTarget(): {
  target: {
    connected: boolean;
    send(m: unknown, h?: unknown, o?: object, cb?: (e: Error | null) => void): boolean;
    on(event: string, listener: (...args: unknown[]) => void): unknown;
    emit(event: string, ...args: unknown[]): boolean;
  };
  writes: FakeWrite[];
  emit(event: string, ...args: unknown[]): void;
} {
  const listeners = new Map<string, ((...args: unknown[]) => void)[]>();
  const writes: FakeWrite[] = [];
  const target = {
    connected: true,
    send(
      message: unknown,
      handle?: unknown,
      options?: object,
      callback?: (error: Error | null) => void,
    ): boolean {
      writes.push({ message, handle, options });
      if (callback) queueMicrotask(() => callback(null));
      return true;
    },
    on(event: string, listener: (...args: unknown[]) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return target;
    },
    emit(event: string, ...args: unknown[]): boolean {
      for (const listener of listeners.get(event) ?? []) listener(...args);
      return listeners.has(event);
    },
  };
  const emit = (event: string, ...args: unknown[]) => void target.emit(event, ...args);
  return { target, writes, emit };
}
