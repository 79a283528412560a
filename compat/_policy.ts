// Ports the scheduling policy of lib/internal/cluster/primary.js (SCHED_RR, SCHED_NONE and the
// environment variable that picks one), mapped to our policies. Deviation: we read our own
// XCLUSTER_SCHED_POLICY before Node's NODE_CLUSTER_SCHED_POLICY, so a program can choose
// differently under @x/cluster.

import process from "node:process";
import type { Policy } from "../mod.ts";

/** Leave connection distribution to the operating system: every worker accepts. */
export const SCHED_NONE = 1;
/** The primary accepts and hands connections to the workers in turn. */
export const SCHED_RR = 2;

/** Reads the policy from `XCLUSTER_SCHED_POLICY`, then `NODE_CLUSTER_SCHED_POLICY` (`rr`/`none`). */
export function policyFromEnv(): number {
  const value = process.env.XCLUSTER_SCHED_POLICY ?? process.env.NODE_CLUSTER_SCHED_POLICY;
  if (value === "none") return SCHED_NONE;
  // Node picks SCHED_NONE on Windows by default; round-robin is our default everywhere.
  return SCHED_RR;
}

/** Our policy for a node:cluster scheduling policy; throws on anything else. */
export function toPolicy(schedulingPolicy: unknown): Policy {
  if (schedulingPolicy === SCHED_RR) return "round-robin";
  if (schedulingPolicy === SCHED_NONE) return "shared";
  throw new TypeError(
    `Invalid cluster.schedulingPolicy ${JSON.stringify(schedulingPolicy)}: ` +
      `use cluster.SCHED_RR (${SCHED_RR}) or cluster.SCHED_NONE (${SCHED_NONE})`,
  );
}
