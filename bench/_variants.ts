// The server trees bench/run.ts compares on each runtime, in table order. The first is always
// the default configuration (`new Cluster()`, `serve()` with only the address): what a new user
// gets, whatever server and policy the core picks for it at the time of the run.

import type { Runtime } from "./_lib.ts";

/** One server tree: which bench script runs it, with which environment. */
export interface Variant {
  id: string;
  label: string;
  ours: boolean;
  server: string;
  env: Record<string, string>;
}

/** Each runtime's fastest server, as the bare reusePort servers run it. */
export const NATIVE: Record<Runtime, string> = {
  node: "node:http",
  deno: "Deno.serve",
  bun: "Bun.serve",
};

/** Every id, in table order (report and charts use it for the series). */
export const VARIANT_IDS = [
  "default",
  "ours-rr",
  "ours-shared",
  "ours-reuse",
  "ours-rr-listen",
  "nc-rr",
  "nc-none",
  "indie",
] as const;

/** Variants that are ours. */
export const OURS: ReadonlySet<string> = new Set(VARIANT_IDS.filter((id) =>
  id !== "indie" &&
  !id.startsWith("nc-")
));

/** Variants of the stalled-worker benchmark (issue #10: round-robin, reuse-port, SCHED_RR). */
export const STALL_IDS: readonly string[] = ["default", "ours-rr", "ours-reuse", "nc-rr"];

/**
 * The variants measured on `runtime`.
 *
 * @example
 * ```ts
 * variants("deno")[0].id; // "default"
 * ```
 */
export function variants(runtime: Runtime): Variant[] {
  const ours = (id: string, label: string, env: Record<string, string>): Variant => ({
    id,
    label,
    ours: true,
    server: "_server_ours.ts",
    env,
  });
  const nc = (id: string, label: string, sched: string): Variant => ({
    id,
    label,
    ours: false,
    server: "_server_node_cluster.ts",
    env: { BENCH_SCHED: sched },
  });
  return [
    ours("default", "default: new Cluster() + serve()", { BENCH_CONFIG: "default" }),
    ours("ours-rr", "ours serve(), round-robin", { BENCH_POLICY: "round-robin" }),
    ours("ours-shared", "ours serve(), shared", { BENCH_POLICY: "shared" }),
    ours("ours-reuse", "ours serve(), reuse-port", { BENCH_POLICY: "reuse-port" }),
    ours("ours-rr-listen", "ours listen(node:http), round-robin", {
      BENCH_POLICY: "round-robin",
      BENCH_API: "listen",
    }),
    nc("nc-rr", "node:cluster SCHED_RR", "rr"),
    nc("nc-none", "node:cluster SCHED_NONE", "none"),
    {
      id: "indie",
      label: `2 × reusePort ${NATIVE[runtime]}`,
      ours: false,
      server: "_server_reuseport.ts",
      env: {},
    },
  ];
}

/** The serve modes of the reload benchmark (bench/_reload.ts): id → label and tree environment. */
export const RELOAD_MODES: Record<string, { label: string; env: Record<string, string> }> = {
  default: { label: "default: new Cluster() + serve()", env: { BENCH_CONFIG: "default" } },
  "reuse-port": { label: "serve(), reuse-port", env: { BENCH_POLICY: "reuse-port" } },
  "round-robin": { label: "serve(), round-robin", env: { BENCH_POLICY: "round-robin" } },
  strict: { label: "serve(), strictReloads: true", env: { BENCH_STRICT: "1" } },
};
