// What a process measures of itself for `Cluster.stats()`: rss, CPU time and event-loop lag.
// Lag is measured with a repeating timer of ours (how late each tick runs) on every runtime,
// because the runtimes' `monitorEventLoopDelay` histograms disagree and miss blocks (measured
// with 50 ms and 200 ms busy loops at a 10 ms resolution, Node 24 / Deno 2.9 / Bun 1.4):
// - Node's records the time between ticks (every sample includes the resolution: min 10.1 ms),
//   and after `reset()` it drops the next delta: a 200 ms block right after a read read 10.1 ms;
// - Deno's returns numbers that are not nanoseconds of delay (max 18 µs for a 50 ms block);
// - Bun's reads the delay past the resolution (max 49.6 ms for the 50 ms block).
// The timer read 190-193 ms for the 200 ms block on all three.

import process from "node:process";
import type { ProcessFigures, ProcessMonitor } from "../src/types.ts";

/** How often the event loop is sampled (ms). */
const RESOLUTION_MS = 20;

/** CPU time of this process (user + system), in seconds. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

let lastRss = 0;

/**
 * Resident memory in bytes. Node and Bun read it from /proc/self/statm, which needs a free
 * descriptor: at EMFILE `memoryUsage.rss()` throws, and a stats report must not crash the
 * worker that is out of descriptors, so the last reading stands in.
 */
function rss(): number {
  try {
    return lastRss = process.memoryUsage.rss();
  } catch {
    return lastRss;
  }
}

/**
 * A monitor that measures event-loop lag with a repeating timer: how much later than due each
 * tick ran.
 *
 * @example
 * ```ts ignore
 * const monitor = timerMonitor();
 * console.log(monitor.read().eventLoopLag);
 * monitor.stop();
 * ```
 */
export function timerMonitor(): ProcessMonitor {
  let max = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last - RESOLUTION_MS);
    last = now;
  }, RESOLUTION_MS);
  (timer as { unref?: () => void }).unref?.();
  return {
    read(): ProcessFigures {
      // A tick still pending counts too: a loop blocked right now is late already.
      const pending = performance.now() - last - RESOLUTION_MS;
      const lag = Math.max(0, max, pending) / 1e3;
      max = 0;
      return { rss: rss(), cpuSeconds: cpuSeconds(), eventLoopLag: lag };
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}
