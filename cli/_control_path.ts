// Where the control socket is: `--control <path>`, else `x-cluster.sock` in a per-user runtime
// directory: `$XDG_RUNTIME_DIR/x-cluster` (systemd makes $XDG_RUNTIME_DIR 0700 and the user's),
// else `<tmp dir>/x-cluster-<uid>`. The directory is created 0700; one that exists must be the
// user's and closed to others, because whoever controls it could put their own socket there.
// The socket itself is made 0600 once bound (_control_server.ts). A socket file is only a
// rendezvous point: the directory's and the socket's modes are what refuse other users (Unix
// sockets need write permission to connect), since the runtimes have no SO_PEERCRED API.

import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { UsageError } from "./_usage_error.ts";

/** The socket's file name in the runtime directory. */
export const SOCKET_NAME = "x-cluster.sock";

/** The current user's id (`undefined` where the platform has none). */
function uid(): number | undefined {
  return typeof process.getuid === "function" ? process.getuid() : undefined;
}

/**
 * The default control socket path of this user.
 *
 * @example
 * ```ts
 * import { defaultControlPath } from "./_control_path.ts";
 * defaultControlPath(); // e.g. /run/user/1000/x-cluster/x-cluster.sock
 * ```
 */
export function defaultControlPath(): string {
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  const dir = runtimeDir
    ? path.join(runtimeDir, "x-cluster")
    : path.join(tmpdir(), `x-cluster-${uid() ?? "user"}`);
  return path.join(dir, SOCKET_NAME);
}

/** How --help describes the default. */
export const DEFAULT_CONTROL_HELP =
  `$XDG_RUNTIME_DIR/x-cluster/${SOCKET_NAME}, else <tmp dir>/x-cluster-<uid>/${SOCKET_NAME}`;

/**
 * Makes sure the directory of `socket` exists; when it is the default one, that it is this
 * user's and closed to others (0700). Throws a {@linkcode UsageError} saying what to fix.
 *
 * @example
 * ```ts ignore
 * import { defaultControlPath, prepareControlDir } from "./_control_path.ts";
 * prepareControlDir(defaultControlPath(), true);
 * ```
 */
export function prepareControlDir(socket: string, isDefault: boolean): void {
  const dir = path.dirname(socket);
  if (!isDefault) {
    mkdirSync(dir, { recursive: true });
    return;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  const me = uid();
  if (!stat.isDirectory() || (me !== undefined && stat.uid !== me)) {
    throw new UsageError(
      `${dir} is not a directory of user ${me}: remove it, or give --control <path>`,
    );
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
