// The worker's side of `Cluster.stats()`: one `stats` message every `statsInterval` ms with its
// request count, what the adapter measured of the process, and the application's metrics when
// they changed. Nothing is sent per request: a counter is read when the timer fires.

import type { WorkerMetrics } from "./_metrics_registry.ts";
import type { StatsMessage } from "./_stats_message.ts";
import type { Adapter } from "./types.ts";

/**
 * Starts reporting every `interval` ms (the first report at once). Stops by itself when a send
 * fails (the channel closed); returns the stopper.
 *
 * @example
 * ```ts ignore
 * const figures = () => ({ requests: 0, connections: 0 });
 * const stop = reportStats(adapter, 1000, figures, new WorkerMetrics(), (m) => channel.sendInternal(m));
 * ```
 */
export function reportStats(
  adapter: Adapter,
  interval: number,
  figures: () => { requests: number; connections: number | undefined },
  metrics: WorkerMetrics,
  send: (message: StatsMessage) => Promise<void>,
): () => void {
  const monitor = adapter.monitor();
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = (): void => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    monitor.stop();
  };
  const report = (): void => {
    const { rss, cpuSeconds, eventLoopLag } = monitor.read();
    const { requests, connections } = figures();
    const message: StatsMessage = {
      cmd: "stats",
      requests,
      rss: Math.round(rss),
      cpu: cpuSeconds,
      lag: eventLoopLag,
    };
    if (connections !== undefined) message.connections = connections;
    const snapshot = metrics.takeSnapshot();
    if (snapshot) message.metrics = snapshot;
    send(message).catch(stop);
  };
  timer = setInterval(report, interval);
  adapter.unrefTimer(timer);
  // The first report right away, so that stats() shows the worker's figures within a moment.
  queueMicrotask(report);
  return stop;
}
