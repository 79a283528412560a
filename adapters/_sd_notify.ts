// systemd's notification protocol (sd_notify(3)): newline-separated assignments such as
// `READY=1` in one datagram to the unix socket named by $NOTIFY_SOCKET. How a runtime sends one
// without a native add-on (measured on this box, systemd 252, as root):
// - Deno: `Deno.listenDatagram({ transport: "unixpacket" })`, a real SOCK_DGRAM socket, behind
//   `--unstable-net` (1.6 ms for the first send, from the primary's own pid);
// - Bun: `bun:ffi` calls libc's socket()/sendto() (5 ms for the first send, dlopen included);
// - Node has neither unix datagram sockets (nodejs/node#61933) nor FFI: it runs the
//   `systemd-notify` binary (26 ms a call). As root that binary names its caller's pid in the
//   datagram's credentials, so systemd's default `NotifyAccess=main` accepts it; run as another
//   user, the unit needs `NotifyAccess=all`.
// Deno without `--unstable-net` and Bun without a loadable libc use the binary too; with no
// binary either, `notify()` rejects saying what to install or enable.

import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { SystemdChannel } from "../src/types.ts";
import { builtin } from "./_builtins.ts";

/** Sends one datagram to `socket`; rejects with what failed. */
type Send = (socket: string, state: string) => Promise<void>;

/** The inline slice of Deno's datagram API we use (published types need no Deno types). */
interface DenoDatagram {
  send(data: Uint8Array, address: { transport: "unixpacket"; path: string }): Promise<number>;
  close(): void;
}
interface DenoNet {
  pid: number;
  listenDatagram?(options: { transport: "unixpacket"; path: string }): DenoDatagram;
}

/**
 * The systemd channel of this process, when $NOTIFY_SOCKET is set; `send` is the runtime's way
 * to send a datagram (`undefined`: only the `systemd-notify` binary).
 *
 * @example
 * ```ts ignore
 * const channel = systemdChannel(denoSender());
 * await channel?.notify("READY=1");
 * ```
 */
export function systemdChannel(
  native: { send: Send; transport: string } | undefined,
  monotonic: () => bigint = hrtimeMicros,
): SystemdChannel | undefined {
  const socket = process.env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  const usec = Number(process.env.WATCHDOG_USEC);
  const watchdogPid = process.env.WATCHDOG_PID;
  const watched = usec > 0 && (!watchdogPid || Number(watchdogPid) === process.pid);
  const send = native?.send ?? binarySend;
  return {
    transport: native?.transport ?? "the systemd-notify binary",
    // sd_watchdog_enabled(3): ping at half the interval.
    watchdogInterval: watched ? usec / 2000 : undefined,
    notify: (state) => send(socket, withMonotonic(state, monotonic)),
  };
}

/** `RELOADING=1` carries CLOCK_MONOTONIC in µs (systemd 253's `Type=notify-reload` wants it). */
function withMonotonic(state: string, monotonic: () => bigint): string {
  if (!/^RELOADING=1$/m.test(state) || /^MONOTONIC_USEC=/m.test(state)) return state;
  return `${state}\nMONOTONIC_USEC=${monotonic()}`;
}

/** CLOCK_MONOTONIC in µs from `process.hrtime` (Node's is that clock). */
export function hrtimeMicros(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/**
 * CLOCK_MONOTONIC in µs, at least: `/proc/uptime` (CLOCK_BOOTTIME, >= MONOTONIC) rounded up by
 * its 10 ms resolution. Deno's and Bun's `process.hrtime` count from process start (measured:
 * 0.3 s against an uptime of 1,213 s), and systemd ignores a RELOADING=1 older than its reload
 * request, so never earlier is what matters.
 *
 * @example
 * ```ts ignore
 * const channel = systemdChannel(denoSender(Deno), uptimeMicros);
 * ```
 */
export function uptimeMicros(): bigint {
  const seconds = builtin("node:fs").readFileSync("/proc/uptime", "utf8").split(" ")[0];
  const [whole, fraction = "0"] = seconds.split(".");
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, "0").slice(0, 6)) + 10_000n;
}

/** Runs `systemd-notify` with each assignment as an argument. */
const binarySend: Send = (socket, state) =>
  new Promise((resolve, reject) => {
    // --no-block: no BARRIER=1 round trip, which the binary would send from a child pid that
    // NotifyAccess=main logs as refused; the datagram names the primary's pid (see above).
    const child = builtin("node:child_process").spawn("systemd-notify", ["--no-block", ...state.split("\n")], {
      env: { ...process.env, NOTIFY_SOCKET: socket },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          error.code === "ENOENT"
            ? `Cannot notify systemd: this runtime has no unix datagram socket and the ` +
              `systemd-notify binary is not installed (Debian: apt-get install systemd); ` +
              `on Deno, run with --unstable-net`
            : `Cannot notify systemd: systemd-notify failed to start: ${error.message}`,
        ),
      );
    });
    child.once("exit", (code) => {
      if (code === 0) resolve();
      else {reject(
          new Error(`Cannot notify systemd: systemd-notify exited with ${code}: ${stderr.trim()}`),
        );}
    });
  });

/**
 * Deno's native sender, when `--unstable-net` gives it datagram sockets; else `undefined`. A
 * client socket must be bound to send on Deno: a temporary path, removed after each send.
 *
 * @example
 * ```ts ignore
 * const channel = systemdChannel(denoSender(Deno));
 * ```
 */
export function denoSender(runtime: unknown): { send: Send; transport: string } | undefined {
  const deno = runtime as DenoNet;
  const listen = deno.listenDatagram;
  if (typeof listen !== "function") return undefined;
  let n = 0;
  return {
    transport: "a unix datagram socket (Deno.listenDatagram)",
    async send(socket, state) {
      if (socket.startsWith("@")) return binarySend(socket, state); // abstract: not a path
      const path = join(tmpdir(), `x-cluster-notify-${deno.pid}-${n++}.sock`);
      const conn = listen.call(deno, { transport: "unixpacket", path });
      try {
        await conn.send(new TextEncoder().encode(state), { transport: "unixpacket", path: socket });
      } finally {
        conn.close();
        builtin("node:fs").rmSync(path, { force: true });
      }
    },
  };
}

/**
 * Bun's native sender through `bun:ffi` and libc, when both load; else `undefined`.
 *
 * @example
 * ```ts ignore
 * const channel = systemdChannel(bunSender(), uptimeMicros);
 * ```
 */
export function bunSender(): { send: Send; transport: string } | undefined {
  type Ffi = {
    dlopen(
      lib: string,
      symbols: Record<string, { args: string[]; returns: string }>,
    ): { symbols: Record<string, (...args: unknown[]) => number | bigint> };
    ptr(view: Uint8Array): unknown;
  };
  let libc: ReturnType<Ffi["dlopen"]>, ptr: Ffi["ptr"];
  try {
    // process.getBuiltinModule, not import(): published types and the npm build must not name
    // a "bun:" module, and Bun resolves it here synchronously.
    const load = (process as { getBuiltinModule?(id: string): unknown }).getBuiltinModule;
    const ffi = load?.call(process, "bun:ffi") as Ffi | undefined;
    if (!ffi) return undefined;
    ptr = ffi.ptr;
    libc = ffi.dlopen(process.platform === "linux" ? "libc.so.6" : "libc.dylib", {
      socket: { args: ["i32", "i32", "i32"], returns: "i32" },
      sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: "i64" },
      close: { args: ["i32"], returns: "i32" },
    });
  } catch {
    return undefined; // no FFI or no glibc (musl): the binary
  }
  const AF_UNIX = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0o2000000;
  return {
    transport: "a unix datagram socket (bun:ffi, libc sendto)",
    send(socket, state) {
      const path = new TextEncoder().encode(socket);
      if (path.length > 107) {
        return Promise.reject(new Error(`Cannot notify systemd: socket path too long: ${socket}`));
      }
      // struct sockaddr_un: family, then the path (a leading NUL for an abstract "@name").
      const address = new Uint8Array(110);
      new DataView(address.buffer).setUint16(0, AF_UNIX, true);
      address.set(path, 2);
      const abstract = socket.startsWith("@");
      if (abstract) address[2] = 0;
      const length = 2 + path.length + (abstract ? 0 : 1);
      const message = new TextEncoder().encode(state);
      const fd = Number(libc.symbols.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      if (fd < 0) return Promise.reject(new Error("Cannot notify systemd: socket() failed"));
      try {
        const sent = Number(
          libc.symbols.sendto(fd, ptr(message), message.length, 0, ptr(address), length),
        );
        if (sent !== message.length) {
          return Promise.reject(new Error(`Cannot notify systemd: sendto ${socket} failed`));
        }
        return Promise.resolve();
      } finally {
        libc.symbols.close(fd);
      }
    },
  };
}
