// Smoke test: a CommonJS consumer, type-checked against the installed package's declarations
// with only @types/node (scripts/npm_build/smoke.ts runs tsc on it). It must import every export.

import main = require("@x/cluster");
import compat = require("@x/cluster/compat");
import cli = require("@x/cluster/cli");

export const all: unknown[] = [main, compat, cli];
export const cluster: typeof main.Cluster = main.Cluster;
