// The primary's metrics and health listener (the `metrics` option): `/metrics` (Prometheus
// text), `/livez` (the primary's event loop answers) and `/readyz` (200 once every slot has a
// ready worker; 503 while starting, while a reload or a crash leaves a slot without one, and
// from the moment `shutdown()` begins, so that a Kubernetes readiness probe takes the pod out of
// rotation before the workers drain).

import { METRICS_CONTENT_TYPE, renderMetrics } from "./_metrics_text.ts";
import type { StatsCollector } from "./_stats.ts";
import type { ClusterStats } from "./stats.ts";
import type { FetchHandler } from "./types.ts";

/**
 * The listener's request handler.
 *
 * @example
 * ```ts ignore
 * const endpoint = await adapter.serveHttp(options, metricsHandler(collector, () => cluster.stats()));
 * ```
 */
export function metricsHandler(
  collector: StatsCollector,
  stats: () => ClusterStats,
): FetchHandler {
  return (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, "Only GET and HEAD are served here\n", { allow: "GET, HEAD" });
    }
    const path = new URL(request.url, "http://localhost").pathname;
    switch (path) {
      case "/metrics": {
        const body = renderMetrics(stats(), collector.slotRestarts(), collector.metrics.collect());
        return new Response(body, { headers: { "content-type": METRICS_CONTENT_TYPE } });
      }
      case "/livez":
        return text(200, "ok\n");
      case "/readyz": {
        const s = stats();
        if (s.ready) return text(200, "ready\n");
        const why = s.shuttingDown
          ? "shutting down"
          : `${s.totals.readySlots} of ${s.totals.slots} slots have a ready worker`;
        return text(503, `not ready: ${why}\n`);
      }
      default:
        return text(404, "Not found: try /metrics, /livez or /readyz\n");
    }
  };
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}
