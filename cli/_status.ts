// What `x-cluster status` shows: one row per worker (id, pid, slot, state, uptime, restarts,
// requests in total and per second, rss, CPU %, event-loop lag) and the run's state, as data
// (the control socket's reply, `status --json`) and as a table. The figures come from the
// core's `cluster.stats()` (src/stats.ts); the ones a worker reports about itself are null
// until its first report (about a second after its start), and the table prints "-" for them.

/** One worker's row. */
export interface WorkerRow {
  id: number;
  pid: number | null;
  slot: number;
  state: string;
  /** Seconds since it was forked. */
  uptime: number;
  /** Times its slot got a new worker before this one. */
  restarts: number;
  requests: number | null;
  requestsPerSecond: number | null;
  /** Bytes. */
  rss: number | null;
  /** % of one core. */
  cpuPercent: number | null;
  /** Seconds. */
  eventLoopLag: number | null;
}

/** The whole status. */
export interface Status {
  /** The primary's pid. */
  pid: number;
  /** Seconds since the run started. */
  uptime: number;
  /** The worker count the run keeps. */
  target: number;
  /** "starting", "running" or "stopping". */
  state: string;
  /** Listen addresses, `host:port`. */
  listening: string[];
  workers: WorkerRow[];
}

/** Column headers and how each cell is written. */
const COLUMNS: [header: string, cell: (row: WorkerRow) => string][] = [
  ["id", (r) => `w${r.id}`],
  ["pid", (r) => dash(r.pid)],
  ["slot", (r) => String(r.slot)],
  ["state", (r) => r.state],
  ["uptime", (r) => duration(r.uptime)],
  ["restarts", (r) => String(r.restarts)],
  ["requests", (r) => dash(r.requests)],
  ["req/s", (r) => (r.requestsPerSecond === null ? "-" : r.requestsPerSecond.toFixed(1))],
  ["rss", (r) => (r.rss === null ? "-" : bytes(r.rss))],
  ["cpu", (r) => (r.cpuPercent === null ? "-" : `${r.cpuPercent.toFixed(1)}%`)],
  ["lag", (r) => (r.eventLoopLag === null ? "-" : `${(r.eventLoopLag * 1000).toFixed(1)}ms`)],
];

function dash(value: number | null): string {
  return value === null ? "-" : String(value);
}

/** `93s` → `1m33s`. */
function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/** 52428800 → `50.0M`. */
function bytes(n: number): string {
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)}K`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)}M`;
  return `${(n / 1024 ** 3).toFixed(2)}G`;
}

/**
 * The status as a table: a header line, then the workers' rows, columns padded.
 *
 * @example
 * ```ts ignore
 * import { statusTable } from "./_status.ts";
 * console.log(statusTable(status).join("\n"));
 * // x-cluster pid 4242, running 2 workers, up 1m03s, listening on 127.0.0.1:8000
 * // id  pid   slot  state      uptime  restarts  requests  req/s  rss  cpu  lag
 * // w1  4250  0     listening  1m02s   0         -         -      -    -    -
 * ```
 */
export function statusTable(status: Status): string[] {
  const where = status.listening.length ? `, listening on ${status.listening.join(", ")}` : "";
  const head = `x-cluster pid ${status.pid}, ${status.state} ${status.target} ` +
    `worker${status.target === 1 ? "" : "s"}, up ${duration(status.uptime)}${where}`;
  const cells = [
    COLUMNS.map(([header]) => header),
    ...status.workers.map((row) => COLUMNS.map(([, cell]) => cell(row))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  const lines = cells.map((line) =>
    line.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()
  );
  return [head, ...lines];
}
