// The CLI's primary: one Cluster running the user's script, its events as log lines, the
// commands that steer it (signals, _signals.ts; the control socket, _control_server.ts; --watch)
// and how the run ends: 0 after a requested stop (SIGTERM, SIGINT, `x-cluster stop`), 1 after a
// crash loop or a failed start, 2 for an option the core refuses (as a UsageError), and, with
// --no-respawn, the last worker gone (0 if every worker exited with 0, else 1).

import process from "node:process";
import { Cluster, ClusterError, type Worker } from "../mod.ts";
import { clusterOptions } from "./_cluster_options.ts";
import type { Logger } from "./_log.ts";
import { defaultControlPath, prepareControlDir } from "./_control_path.ts";
import type { ControlReply, ControlRequest } from "./_control_protocol.ts";
import { ControlServer } from "./_control_server.ts";
import { LiveView } from "./_live_view.ts";
import { cliMessage } from "./_messages.ts";
import { OPTIONS } from "./_options.ts";
import type { RunSettings } from "./_settings.ts";
import { installSignals } from "./_signals.ts";
import type { Status, WorkerRow } from "./_status.ts";
import { UsageError } from "./_usage_error.ts";
import { watchPaths } from "./_watch.ts";

/**
 * Runs `settings` until the run ends; resolves with the exit status. `preload` is the CLI
 * module's URL. Throws a {@linkcode UsageError} for options the cluster refuses.
 *
 * @example
 * ```ts ignore
 * import process from "node:process";
 * import { Logger } from "./_log.ts";
 * import { runPrimary } from "./_primary.ts";
 * const log = new Logger("text", process.pid, (text) => process.stderr.write(text));
 * process.exitCode = await runPrimary(settings, "file:///app/cli.ts", log);
 * ```
 */
export function runPrimary(settings: RunSettings, preload: string, log: Logger): Promise<number> {
  if (settings.live && settings.logFormat !== "text") {
    throw new UsageError("--live draws a table: it needs --log-format text (or leave --live out)");
  }
  const live = settings.live ?? (process.stdout.isTTY === true && settings.logFormat === "text");
  let cluster: Cluster;
  try {
    cluster = new Cluster(clusterOptions(settings, preload, live));
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new UsageError(asFlags(error.message));
    }
    throw error;
  }
  return new Run(cluster, settings, log, live).run();
}

/** The core's message with its option names ('readyTimeout') as the CLI's flags. */
function asFlags(message: string): string {
  const text = message.replace(/^Cannot create the cluster: /, "");
  return text.replace(/'(\w+)'/g, (quoted, key) => {
    const spec = OPTIONS.find((o) => o.key === key);
    return spec ? `--${spec.flag}` : quoted;
  });
}

function who(worker: Worker): string {
  return `w${worker.id} (pid ${worker.pid ?? "?"})`;
}

class Run {
  #cluster: Cluster;
  #settings: RunSettings;
  #log: Logger;
  #addresses = new Set<string>();
  #notices = new Set<string>();
  #ready = false;
  #stopping = false;
  #workerFailed = false;
  #stopWatching: (() => void) | undefined;
  /** The worker count the run keeps (the start's, then what scale commands asked for). */
  #target = 0;
  #control: ControlServer | undefined;
  #view: LiveView | undefined;
  #end!: (code: number) => void;
  #ended = new Promise<number>((resolve) => (this.#end = resolve));

  constructor(cluster: Cluster, settings: RunSettings, log: Logger, live: boolean) {
    this.#cluster = cluster;
    this.#settings = settings;
    this.#log = log;
    if (live) {
      const view = new LiveView(process.stdout, () => this.status());
      this.#view = view;
      log.redirect((text) => view.line(text));
    }
    cluster.on("listening", (worker, address) => {
      this.#listening(`${address.hostname}:${address.port}`, worker);
    });
    cluster.on("message", (worker, message) => {
      const m = cliMessage(message);
      if (m?.["@x/cluster/cli"] === "listening") {
        this.#listening(`${m.hostname}:${m.port}`, worker, m.engine);
      } else if (m?.["@x/cluster/cli"] === "output") {
        this.#view?.output(`${worker.id} ${m.stream}`, m.text);
      } else if (m?.["@x/cluster/cli"] === "notice" && !this.#notices.has(m.text)) {
        this.#notices.add(m.text);
        log.info(`notice: ${m.text}`);
      }
    });
    cluster.on("crashloop", (_slot, error) => {
      log.info(error.message.replace(/\nFix the worker and call scale\(\) or reload\(\)$/, ""));
      log.info("stopping: fix the script and start x-cluster again");
      this.#stop(1);
    });
    cluster.on("error", (error) => {
      // A crash loop was reported above; every other error says which worker it concerns.
      if (!(error instanceof ClusterError && error.code === "CRASH_LOOP")) log.info(error.message);
    });
    cluster.on("exit", (worker, code, signal) => this.#exited(worker, code, signal));
    cluster.on("ready", (worker) => {
      if (this.#ready && !this.#stopping) log.info(`${who(worker)} ready`);
    });
    cluster.on("unresponsive", (worker) => {
      log.info(`${who(worker)} missed its heartbeats (--heartbeat-timeout): replacing it`);
    });
    cluster.on("recycle", (worker, reason) => {
      const option = reason === "requests" ? "--max-requests" : "--max-memory";
      log.info(`${who(worker)} reached ${option}: replacing it`);
    });
    cluster.on("warning", (warning) => log.info(`warning: ${warning.message}`));
  }

  async run(): Promise<number> {
    this.#view?.start();
    // Kept until the process exits: a second SIGINT counts, a second SIGTERM is no default kill.
    installSignals({
      stop: (reason) => this.stop(reason),
      reload: (reason) => void this.reload(reason).catch(() => {}),
      scaleBy: (delta, reason) => {
        void this.scale(Math.max(1, this.#target + delta), reason).catch(() => {});
      },
      killAll: () => {
        for (const worker of this.#cluster.workers.values()) worker.kill("SIGKILL");
        this.#control?.close();
        process.exit(130);
      },
    });
    const controlPath = this.#settings.control ?? defaultControlPath();
    prepareControlDir(controlPath, this.#settings.control === undefined);
    this.#control = await ControlServer.listen(controlPath, (request) => this.#command(request));
    this.#log.info(`control socket ${controlPath} (x-cluster status, reload, scale <n>, stop)`);
    try {
      await this.#cluster.start();
    } catch (error) {
      if (this.#stopping) return this.#ended;
      const unsupported = error instanceof ClusterError && error.code === "UNSUPPORTED";
      this.#log.info(`could not start: ${(error as Error).message}`);
      return this.#stop(unsupported ? 2 : 1);
    }
    this.#ready = true;
    const { size } = this.#cluster.workers;
    this.#target = size;
    const where = this.#addresses.size ? `, listening on ${[...this.#addresses].join(", ")}` : "";
    const metrics = this.#cluster.metricsAddress;
    if (metrics) {
      const host = metrics.hostname.includes(":") ? `[${metrics.hostname}]` : metrics.hostname;
      this.#log.info(`metrics on http://${host}:${metrics.port}/metrics (/livez, /readyz)`);
    }
    this.#log.info(
      `${size} worker${size === 1 ? "" : "s"} ready${where} (primary pid ${process.pid}: ` +
        "SIGHUP reloads, SIGTERM stops)",
    );
    if (this.#settings.watch.length) {
      this.#stopWatching = watchPaths(this.#settings.watch, {
        reload: (changed) => this.reload(`${changed.join(", ")} changed`, false),
        failed: (error) => {
          const what = error instanceof ClusterError && error.code === "RELOAD_FAILED"
            ? "the old workers serve on"
            : "watching goes on";
          this.#log.info(`--watch: ${(error as Error).message} (${what})`);
        },
      });
    }
    return this.#ended;
  }

  /** Stops the run gracefully; it ends with exit status 0. */
  stop(reason: string): void {
    if (this.#stopping) return;
    this.#log.info(`${reason}: stopping`);
    void this.#stop(0);
  }

  /**
   * Replaces every worker, one slot at a time (--reload-concurrency); logs the outcome. Rejects
   * as the cluster's reload() does; `report` false leaves reporting a failure to the caller.
   */
  async reload(reason: string, report = true): Promise<void> {
    this.#refuseUnlessRunning(reason);
    this.#log.info(`${reason}: reloading ${this.#target} worker${this.#target === 1 ? "" : "s"}`);
    try {
      await this.#cluster.reload();
    } catch (error) {
      if (report) {
        this.#log.info(`reload failed, the old workers serve on: ${(error as Error).message}`);
      }
      throw error;
    }
    this.#log.info(`reloaded: pids ${this.#pids()}`);
  }

  /** Grows or shrinks the run to `count` workers (>= 1); logs the outcome. */
  async scale(count: number, reason: string): Promise<void> {
    this.#refuseUnlessRunning(reason);
    const from = this.#target;
    if (count === from) {
      this.#log.info(`${reason}: already at ${count} worker${count === 1 ? "" : "s"}`);
      return;
    }
    this.#target = count;
    this.#log.info(`${reason}: scaling from ${from} to ${count} worker${count === 1 ? "" : "s"}`);
    try {
      await this.#cluster.scale(count);
    } catch (error) {
      this.#log.info(`scaling to ${count} failed: ${(error as Error).message}`);
      throw error;
    }
    if (this.#target === count) this.#log.info(`scaled to ${count}: pids ${this.#pids()}`);
  }

  /** Answers a control-socket request. */
  async #command(request: ControlRequest): Promise<ControlReply> {
    const reason = "x-cluster " +
      (request.cmd === "scale" ? `scale ${request.workers}` : request.cmd);
    switch (request.cmd) {
      case "status":
        return { ok: true, status: this.status() };
      case "reload":
        await this.reload(reason);
        return { ok: true, message: `reloaded: pids ${this.#pids()}` };
      case "scale":
        await this.scale(request.workers, reason);
        return { ok: true, message: `${this.#target} workers: pids ${this.#pids()}` };
      case "stop":
        this.stop(reason);
        return { ok: true, message: "stopping" };
    }
  }

  /** The run's status, from `cluster.stats()`. */
  status(): Status {
    const stats = this.#cluster.stats();
    const workers: WorkerRow[] = stats.workers.map((w) => ({
      id: w.id,
      pid: w.pid,
      slot: w.slot,
      state: w.state,
      uptime: w.uptime,
      restarts: w.restarts,
      requests: w.requests,
      requestsPerSecond: w.requestsPerSecond,
      rss: w.rss,
      cpuPercent: w.cpuPercent,
      eventLoopLag: w.eventLoopLag,
    }));
    return {
      pid: process.pid,
      uptime: stats.uptime,
      target: this.#target || workers.length,
      state: this.#stopping ? "stopping" : this.#ready ? "running" : "starting",
      listening: [...this.#addresses],
      workers,
    };
  }

  /** Throws (and logs) when the run is still starting or already stopping. */
  #refuseUnlessRunning(reason: string): void {
    if (this.#ready && !this.#stopping) return;
    const why = this.#stopping ? "x-cluster is stopping" : "x-cluster is still starting";
    this.#log.info(`${reason}: ignored, ${why}`);
    throw new Error(`${why}: try again once it runs`);
  }

  /** The pids of the current workers, for log lines. */
  #pids(): string {
    return [...this.#cluster.workers.values()].filter((w) => !w.exitedAfterDisconnect)
      .map((w) => w.pid ?? "?").join(", ");
  }

  /** A server of `worker` is bound at `address` (printed once per address). */
  #listening(address: string, worker: Worker, engine?: string): void {
    if (this.#addresses.has(address)) return;
    this.#addresses.add(address);
    if (this.#ready) {
      this.#log.info(`${who(worker)} listening on ${address}${engine ? ` (${engine})` : ""}`);
    }
  }

  #exited(worker: Worker, code: number | null, signal: string | null): void {
    if (this.#stopping) return;
    if (worker.exitedAfterDisconnect) {
      if (this.#ready) this.#log.info(`${who(worker)} stopped`);
      return;
    }
    if (code !== 0 || signal !== null) this.#workerFailed = true;
    // Non-zero exits are reported by the cluster's "error" event, with the reason.
    else this.#log.info(`${who(worker)} exited with code 0 on its own`);
    if (this.#settings.respawn !== false || !this.#ready) return;
    // Without respawn nothing refills the slot: the run ends with its last worker.
    setTimeout(() => {
      if (this.#cluster.workers.size > 0 || this.#stopping) return;
      this.#log.info("every worker has exited and --no-respawn is set: stopping");
      this.#stop(this.#workerFailed ? 1 : 0);
    }, 0);
  }

  #stop(code: number): Promise<number> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#view?.stop();
      this.#stopWatching?.();
      this.#cluster.shutdown().finally(() => this.#control?.close()).catch(() => {}).then(() =>
        this.#end(code)
      );
    }
    return this.#ended;
  }
}
