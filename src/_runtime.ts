// The bridge between the runtime-agnostic core and the runtime: `mod.ts` installs how to load the
// adapter and what role this process has (read synchronously from the environment, so that
// `Cluster.isPrimary` needs no await). The core never imports an adapter itself.

import type { Adapter } from "./types.ts";

/** The environment variables a primary sets for its workers. */
export const ENV_WORKER_ID = "XCLUSTER_WORKER_ID";
/** The per-worker secret that authenticates internal messages. */
export const ENV_TOKEN = "XCLUSTER_TOKEN";

/** How often (ms) a worker sends heartbeats; absent or 0: never. */
export const ENV_HEARTBEAT = "XCLUSTER_HEARTBEAT";

/** How often (ms) a worker sends its `stats` message; absent or 0: never. */
export const ENV_STATS = "XCLUSTER_STATS";

/** "0" when the cluster handles no signals (`signals: false`), in workers either. */
export const ENV_SIGNALS = "XCLUSTER_SIGNALS";

/** This process's role: a worker (with what its primary told it) or the primary. */
export type Role =
  | { kind: "primary" }
  | {
    kind: "worker";
    id: number;
    token: string;
    heartbeat: number;
    signals: boolean;
    /** The `statsInterval` (ms); 0: no stats messages. */
    stats: number;
  };

/** What `mod.ts` installs. */
export interface RuntimeHooks {
  role: Role;
  loadAdapter(): Promise<Adapter>;
}

let installed: RuntimeHooks | undefined;

/** Installs the hooks (first call wins: a second copy of the module must agree on the role). */
export function installRuntime(hooks: RuntimeHooks): void {
  installed ??= hooks;
}

/** The installed hooks. */
export function runtime(): RuntimeHooks {
  if (!installed) {
    throw new TypeError(
      "No runtime installed: import Cluster from the package entry (mod.ts), not from src/",
    );
  }
  return installed;
}
