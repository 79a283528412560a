// The reload section of bench/RESULTS.md: failed requests per rolling reload under load, for
// every serve mode, runtime and value of net.ipv4.tcp_migrate_req.

import { cell, table } from "./_md.ts";
import type { Results } from "./_results.ts";
import { fmt, median } from "./_stats.ts";
import { RELOAD_MODES } from "./_variants.ts";

/**
 * One table: rows are mode × runtime, columns the sysctl values.
 *
 * @example
 * ```ts
 * lines.push(...reloadSection(results));
 * ```
 */
export function reloadSection(results: Results): string[] {
  const rts = Object.keys(results.runtimes);
  const keys = rts.flatMap((rt) => Object.keys(results.runtimes[rt].reload));
  const failedAll = rts.some((rt) =>
    Object.keys(results.runtimes[rt].failed).some((k) => k.startsWith("reload"))
  );
  if (!keys.length && !failedAll) return [];
  const values = [...new Set(keys.map((k) => k.split("|")[1]))].sort();
  const notices = new Set<string>();
  const kinds: string[] = [];
  const rows: string[][] = [];
  for (const [mode, { label }] of Object.entries(RELOAD_MODES)) {
    for (const rt of rts) {
      const r = results.runtimes[rt];
      const cells = values.map((value) => {
        const samples = r.reload[`${mode}|${value}`];
        const reason = r.skipped[`reload ${mode}|${value}`] ?? r.failed[`reload ${mode}|${value}`];
        if (!samples?.length) return reason ? cell(reason) : "–";
        for (const s of samples) s.notices.forEach((n) => notices.add(`${rt}, ${label}: ${n}`));
        const perReload = samples.map((s) => s.failed / s.reloads);
        const how = new Map<string, number>();
        for (const s of samples) {
          for (const [k, n] of Object.entries(s.keepalive.errors)) {
            if (k !== "unannouncedCloses" && n) {
              how.set(`keep-alive ${k}`, (how.get(`keep-alive ${k}`) ?? 0) + n);
            }
          }
          for (const [k, n] of Object.entries(s.churn.errorKinds)) {
            how.set(`churn ${k}`, (how.get(`churn ${k}`) ?? 0) + n);
          }
        }
        if (how.size) {
          kinds.push(
            `${rt}, ${label}, tcp_migrate_req=${value}: ${
              [...how].map(([k, n]) => `${k} ×${n}`).join(", ")
            }`,
          );
        }
        const total = samples.reduce((n, s) => n + s.failed, 0);
        const requests = samples.reduce((n, s) => n + s.keepalive.requests + s.churn.requests, 0);
        const reloads = samples.reduce((n, s) => n + s.reloads, 0);
        return `${fmt(median(perReload), 1)} (${total} of ${fmt(requests)} in ${reloads})`;
      });
      if (cells.every((c) => c === "–")) continue;
      rows.push([label, rt, ...cells]);
    }
  }
  const s = results.meta.settings;
  return [
    "## Reloads under load: failed requests per rolling reload",
    "",
    `wrk keep-alive and \`bench/_churn.ts\` (a new connection per request), ${
      s["reload.connections"]
    } connections ` +
    `each, run together while the primary performs ${s["reload.reloads"]} rolling reload(s) ` +
    "(`cluster.reload()`), one after the other. Cells: median failed requests per reload " +
    "(failed of all requests in that many reloads, all rounds).",
    "",
    ...table(
      ["mode", "runtime", ...values.map((v) => `tcp_migrate_req=${v}`)],
      rows,
      ["---", "---", ...values.map(() => "---:")],
    ),
    "",
    ...(kinds.length ? ["How they failed:", "", ...kinds.map((k) => `- ${cell(k)}`), ""] : []),
    ...(notices.size
      ? [
        "What the trees printed about it:",
        "",
        ...[...notices].map((n) => `- ${n.split("\n")[0]}`),
        "",
      ]
      : []),
  ];
}
