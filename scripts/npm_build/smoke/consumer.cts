// Smoke test: a CommonJS consumer, type-checked against the installed package's declarations
// with only @types/node (scripts/npm_build/smoke.ts runs tsc on it). It must import every export.

import main = require("@x/cluster");
import compat = require("@x/cluster/compat");
import cli = require("@x/cluster/cli");
import register = require("@x/cluster/register");

export const all: unknown[] = [main, compat, cli, register];
export const cluster: typeof main.Cluster = main.Cluster;
