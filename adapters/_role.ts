// Reads this process's role from the environment synchronously (so `Cluster.isPrimary` needs no
// await), using globals only: importing node:process here would load Node APIs on Deno for
// every user. The token is removed from the environment once read, so user code and its
// children cannot see it; the result is kept on globalThis so that a second copy of the
// package (ESM + CommonJS) agrees.

import {
  ENV_HEARTBEAT,
  ENV_SIGNALS,
  ENV_STATS,
  ENV_TOKEN,
  ENV_WORKER_ID,
  type Role,
} from "../src/_runtime.ts";

type Env = { get(name: string): string | undefined; delete(name: string): void };

const CACHE = Symbol.for("@x/cluster.role");

function env(): Env | undefined {
  const g = globalThis as {
    Deno?: { env: Env };
    process?: { env: Record<string, string | undefined> };
  };
  if (g.Deno?.env) return g.Deno.env;
  const vars = g.process?.env;
  if (!vars) return undefined;
  return { get: (name) => vars[name], delete: (name) => void delete vars[name] };
}

/** This process's role, read once. */
export function readRole(): Role {
  const g = globalThis as Record<symbol, Role | undefined>;
  const cached = g[CACHE];
  if (cached) return cached;
  let role: Role = { kind: "primary" };
  const vars = env();
  const id = Number(vars?.get(ENV_WORKER_ID));
  const token = vars?.get(ENV_TOKEN);
  if (vars && Number.isSafeInteger(id) && id > 0 && token) {
    const heartbeat = Number(vars.get(ENV_HEARTBEAT) ?? 0);
    const signals = vars.get(ENV_SIGNALS) !== "0";
    const stats = Number(vars.get(ENV_STATS) ?? 0);
    role = {
      kind: "worker",
      id,
      token,
      heartbeat: heartbeat > 0 ? heartbeat : 0,
      signals,
      stats: stats > 0 ? stats : 0,
    };
    vars.delete(ENV_TOKEN);
    vars.delete(ENV_WORKER_ID);
    vars.delete(ENV_HEARTBEAT);
    vars.delete(ENV_SIGNALS);
    vars.delete(ENV_STATS);
  }
  g[CACHE] = role;
  return role;
}
