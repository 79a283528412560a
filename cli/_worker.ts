// A CLI worker, set up before the user's script runs (the runtime preloads cli.ts, which calls
// bootWorker()): its output is prefixed, node:http/node:net `listen()` shares the port through
// @x/cluster/compat's listen hook (installed when compat loads in a worker), Deno.serve and
// Bun.serve bind with reusePort, and the worker says it is ready (the CLI's cluster uses
// readiness "manual") once its first server is bound, whichever kind it is.

import "../compat.ts";
import process from "node:process";
import { Cluster, type ClusterWorker, type Policy } from "../mod.ts";
import { CLI_MESSAGE_KEY, type CliMessage } from "./_messages.ts";
import { interceptNativeServe } from "./_native_serve.ts";
import { runtimeName } from "./_runtime.ts";
import { formatWorkerOutput } from "./_stdio.ts";
import type { LogFormat } from "./_values.ts";

/** The environment variable that marks a CLI worker and carries its settings (JSON). */
export const WORKER_ENV = "XCLUSTER_CLI_WORKER";

/** What the primary tells each worker. */
export interface WorkerSettings {
  logFormat: LogFormat;
  maxRequests: number;
  policy: Policy | undefined;
  /** Send output to the primary's live view instead of writing it. */
  live: boolean;
}

/**
 * This process's CLI worker settings, when it is a worker started by x-cluster; removed from
 * the environment, so the user's script and its children do not see them.
 *
 * @example
 * ```ts ignore
 * import { bootWorker, takeWorkerSettings } from "./_worker.ts";
 * const settings = takeWorkerSettings();
 * if (settings) bootWorker(settings);
 * ```
 */
export function takeWorkerSettings(): WorkerSettings | undefined {
  const raw = process.env[WORKER_ENV];
  if (raw === undefined || !Cluster.isWorker) return undefined;
  delete process.env[WORKER_ENV];
  return JSON.parse(raw) as WorkerSettings;
}

/**
 * Sets this worker up for the user's script (see the module's comment).
 *
 * @example
 * ```ts ignore
 * import { bootWorker } from "./_worker.ts";
 * bootWorker({ logFormat: "text", maxRequests: 0, policy: undefined, live: false });
 * ```
 */
export function bootWorker(settings: WorkerSettings): void {
  const worker = Cluster.worker;
  const tell = (message: CliMessage) => worker.send(message).catch(() => {});
  formatWorkerOutput(
    settings.logFormat,
    { worker: worker.id, pid: process.pid },
    settings.live
      ? (stream, text) => tell({ [CLI_MESSAGE_KEY]: "output", stream, text })
      : undefined,
  );
  const holdChannel = runtimeName() === "deno" ? releaseLoopForMain(tell) : () => {};
  const ready = readyOnFirstServer(worker, holdChannel);
  interceptNativeServe(worker, settings, {
    bound(engine, hostname, port) {
      holdChannel();
      // The address first: both go out in this order on the one channel, so the primary knows
      // it when the last worker's "ready" completes the start. Sent after "ready", it could
      // reach the primary after the start line was printed without it (a worker's two
      // messages may arrive in two reads, with another worker's "ready" read in between).
      tell({ [CLI_MESSAGE_KEY]: "listening", engine, hostname, port });
      ready();
    },
    notice: (text) => tell({ [CLI_MESSAGE_KEY]: "notice", text }),
  });
}

/**
 * Makes `worker` ready once its first `listen()` (the compat hook's path) or `serve()` is
 * bound; returns the function that makes it ready (for servers the core does not run).
 */
function readyOnFirstServer(worker: ClusterWorker, starting: () => void): () => void {
  let done = false;
  const ready = () => {
    if (done) return;
    done = true;
    worker.ready().catch(() => {}); // the primary is gone: this worker exits anyway
  };
  const listen = worker.listen.bind(worker);
  const serve = worker.serve.bind(worker);
  // Own properties over the prototype's methods: the compat hook calls `worker.listen()`.
  Object.assign(worker, {
    listen: (...args: Parameters<ClusterWorker["listen"]>) => {
      starting();
      return listen(...args).then((bound) => (ready(), bound));
    },
    serve: (...args: Parameters<ClusterWorker["serve"]>) => {
      starting();
      return serve(...args).then((bound) => (ready(), bound));
    },
  });
  return ready;
}

/**
 * Deno runs the main module only once the preloaded modules' event loop is idle (Deno 2.9:
 * `deno run --preload pre.ts main.ts` with a pending timer in pre.ts starts main.ts when it
 * fired), and the worker's IPC channel keeps it busy for good: the user's script would never
 * run. So the channel is unref'd once the core connected it (the first message sent), and
 * ref'd again by the returned function, which the script's first server calls (a round-robin
 * worker has nothing else that keeps it alive).
 */
function releaseLoopForMain(tell: (message: CliMessage) => Promise<void>): () => void {
  const channel = () => (process as { channel?: { ref(): void; unref(): void } }).channel;
  let held = false;
  tell({ [CLI_MESSAGE_KEY]: "booted" }).then(() => {
    if (!held) channel()?.unref();
  });
  return () => {
    if (held) return;
    held = true;
    channel()?.ref();
  };
}
