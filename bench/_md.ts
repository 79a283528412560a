// Markdown helpers of bench/RESULTS.md: tables, verdicts, one-line reasons.

/**
 * A Markdown table; numbers are right-aligned unless `align` says otherwise.
 *
 * @example
 * ```ts
 * table(["variant", "req/s"], [["ours", "1,000"]]).join("\n");
 * ```
 */
export function table(head: string[], rows: string[][], align?: string[]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map((_, i) => align?.[i] ?? (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

/**
 * "met", "**not met**", or "n/a" (nothing measured or the target does not apply).
 *
 * @example
 * ```ts
 * verdict(0.93 >= 0.9); // "met"
 * ```
 */
export function verdict(ok: boolean | undefined): string {
  return ok === undefined ? "n/a" : ok ? "met" : "**not met**";
}

/**
 * The first line of a reason, safe inside a table cell.
 *
 * @example
 * ```ts
 * cell("UNSUPPORTED: no | here\nstack"); // "UNSUPPORTED: no \\| here"
 * ```
 */
export function cell(text: string): string {
  return text.split("\n")[0].replaceAll("|", "\\|").slice(0, 300);
}
