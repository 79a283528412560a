// Import cycles in a graph of files: the part of the architecture check that knows nothing of
// source text. Type-only imports are edges too: a cycle of types still blurs the layers.

/** One import of a file: the file it imports and the 1-based line of the import. */
export interface ImportEdge {
  to: string;
  line: number;
}

/** A cycle, starting at its alphabetically first file and ending where it started. */
export interface ImportCycle {
  /** The files in import order, the first one repeated at the end: `["a", "b", "a"]`. */
  files: string[];
  /** The line in `files[0]` of its import of `files[1]`. */
  line: number;
}

/**
 * The import cycles of `graph` (file -> its imports): one for every import that leads back to a
 * file still being visited by a depth-first walk in sorted order. Breaking every reported cycle
 * may reveal another one through the same files; an acyclic graph reports none. Each cycle is
 * reported once, whichever file the walk entered it by.
 *
 * @example Two files that import each other
 * ```ts
 * import { findImportCycles } from "./_import_cycles.ts";
 *
 * const graph = new Map([
 *   ["a.ts", [{ to: "b.ts", line: 1 }]],
 *   ["b.ts", [{ to: "a.ts", line: 3 }]],
 * ]);
 * findImportCycles(graph); // [{ files: ["a.ts", "b.ts", "a.ts"], line: 1 }]
 * ```
 */
export function findImportCycles(graph: ReadonlyMap<string, readonly ImportEdge[]>): ImportCycle[] {
  const found = new Map<string, ImportCycle>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const done = new Set<string>();
  const lineOf = (from: string, to: string) =>
    graph.get(from)?.find((edge) => edge.to === to)?.line ?? 1;
  const visit = (file: string): void => {
    path.push(file);
    onPath.add(file);
    for (const { to } of graph.get(file) ?? []) {
      if (onPath.has(to)) {
        const loop = path.slice(path.indexOf(to));
        // Rotate to the smallest name so that each cycle has one spelling.
        const first = loop.indexOf([...loop].sort()[0]);
        const files = [...loop.slice(first), ...loop.slice(0, first), loop[first]];
        const key = files.join("\0");
        if (!found.has(key)) found.set(key, { files, line: lineOf(files[0], files[1]) });
      } else if (!done.has(to) && graph.has(to)) {
        visit(to);
      }
    }
    path.pop();
    onPath.delete(file);
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) if (!done.has(file)) visit(file);
  return [...found.values()].sort((a, b) => a.files.join().localeCompare(b.files.join()));
}
