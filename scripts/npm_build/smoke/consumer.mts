// Smoke test: an ES module consumer, type-checked against the installed package's declarations
// with only @types/node (scripts/npm_build/smoke.ts runs tsc on it). It must import every export.

import * as main from "@x/cluster";
import * as compat from "@x/cluster/compat";
import * as cli from "@x/cluster/cli";
import * as register from "@x/cluster/register";

export const all: unknown[] = [main, compat, cli, register];
export const cluster: typeof main.Cluster = main.Cluster;
