// The shape of bench/results.json: what bench/run.ts measures and bench/_report.ts reads.

/** Failed requests by kind, as wrk counts them (`status`: answers other than 2xx/3xx). */
export interface Errors {
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  /**
   * Churn answers without `Connection: close`: each made wrk count one read or write error
   * when the server closed after it (bench/_wrk.lua); `failed()` subtracts them.
   */
  unannouncedCloses?: number;
}

/** What one wrk run measured (bench/_wrk.ts). */
export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Closed-loop latency quantiles, ms (wrk's own: coordinated omission included). */
  p50: number;
  p99: number;
  p999: number;
  errors: Errors;
  /** Requests per value of the `x-worker` response header. */
  workers: Record<string, number>;
  /** wrk's CPU, % of one core, from its /proc/self/stat. */
  clientCpu: number;
}

/** One wrk run against one server tree, with the CPU of the tree's processes. */
export interface WrkSample extends WrkResult {
  /** The server tree's root (our primary, node:cluster's primary, the launcher), % of a core. */
  primaryCpu: number;
  /** The other members of the server tree together, % of one core. */
  workersCpu: number;
}

/** One open-loop run (bench/_open_loop.ts) against a tree with a stalled worker. */
export interface OpenLoopSample {
  /** Offered and completed requests per second. */
  rate: number;
  achieved: number;
  requests: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** Latency from the intended send time, ms. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** How late the client opened connections against the schedule, ms (its own lag). */
  lagP99: number;
  clientCpu: number;
  workers: Record<string, number>;
}

/** Rolling reloads under keep-alive + churn load (bench/_reload.ts). */
export interface ReloadSample {
  reloads: number;
  /** Failed requests of both loads together. */
  failed: number;
  /** wrk keep-alive. */
  keepalive: { requests: number; errors: Errors; clientCpu: number };
  /** bench/_churn.ts: one connection per request, each outcome known. */
  churn: {
    requests: number;
    failed: number;
    errorKinds: Record<string, number>;
    clientCpu: number;
  };
  /** How long each `reload()` took, ms. */
  reloadMs: number[];
  /** Messages the primary or a worker printed to stderr during the run (warnings). */
  notices: string[];
}

/** Payload sizes of the IPC benchmark (bench/_ipc.ts), bytes, as results.json keys them. */
export const IPC_SIZES = ["64", "1024", "16384"];
export const SIZE_LABEL: Record<string, string> = {
  "64": "64 B",
  "1024": "1 KiB",
  "16384": "16 KiB",
};

export interface IpcFigures {
  p50: number;
  p99: number;
  pingPerS: number;
  pipePerS: number;
}

export interface RuntimeResults {
  /** Variant id → rounds. */
  keepalive: Record<string, WrkSample[]>;
  churn: Record<string, WrkSample[]>;
  stall: Record<string, OpenLoopSample[]>;
  /** The rate offered to every stalled-worker variant, and how it was chosen. */
  stallLoad?: { rate: number; basis: string };
  /** "impl|serialization" → payload size → rounds. */
  ipc: Record<string, Record<string, IpcFigures[]>>;
  /** "variant|N" → ms per round. */
  startup: Record<string, number[]>;
  /** "mode|tcp_migrate_req" → rounds. */
  reload: Record<string, ReloadSample[]>;
  /** Variant id → workers its tree ran (the default configuration forks one per CPU). */
  workers: Record<string, number>;
  /** Variant id → response header names (what server answered). */
  fingerprints: Record<string, string[]>;
  skipped: Record<string, string>;
  failed: Record<string, string>;
}

export interface Meta {
  date: string;
  command: string;
  quick: boolean;
  rounds: number;
  settings: Record<string, number>;
  cores: number;
  cpu: string;
  kernel: string;
  loadBefore: number;
  loadAfter: number;
  /** % of all cores' time that processes outside the harness used during the run. */
  otherCpu: number;
  versions: Record<string, string>;
  wrk: string;
  benches: string[];
  /** runtime → variant id → label. */
  labels: Record<string, Record<string, string>>;
  /** The commit measured, and whether the core had uncommitted changes. */
  commit: string;
  /** The host's net.ipv4.tcp_migrate_req (traffic, stall, ipc and startup ran with it). */
  tcpMigrateReq: string;
  /** Why a part was left out or measured differently (no root, no strictReloads, …). */
  caveats: string[];
}

export interface Results {
  meta: Meta;
  runtimes: Record<string, RuntimeResults>;
}

/** An empty record for one runtime. */
export function emptyRuntime(): RuntimeResults {
  return {
    keepalive: {},
    churn: {},
    stall: {},
    ipc: {},
    startup: {},
    reload: {},
    workers: {},
    fingerprints: {},
    skipped: {},
    failed: {},
  };
}
