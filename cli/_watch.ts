// `--watch`: a rolling reload when a file under the watched paths changes (for development).
// Changes are gathered for a moment (an editor's save is several events; a `git checkout` is
// many), then one reload runs; a change during a reload runs one more after it, so the workers
// always end up on the latest files. node:fs `watch` with `recursive` works on Linux on all
// three runtimes.

import { type FSWatcher, watch } from "node:fs";
import path from "node:path";
import process from "node:process";

/** How long changes are gathered before a reload (ms). */
export const SETTLE_MS = 200;

/** Directories whose changes never reload. */
const IGNORED = /(^|[/\\])(node_modules|\.git)([/\\]|$)/;

/** What a watcher drives. */
export interface WatchTarget {
  /** Reloads the workers after `changed` (paths relative to the cwd); rejects if it failed. */
  reload(changed: string[]): Promise<void>;
  /** A reload failed, or watching did. */
  failed(error: unknown): void;
}

/**
 * Watches `paths` (files or directories, recursively) and reloads through `target`; returns
 * the function that stops watching.
 *
 * @example
 * ```ts ignore
 * import { watchPaths } from "./_watch.ts";
 * const stop = watchPaths(["src"], {
 *   reload: (changed) => (console.log(`${changed.join(", ")} changed`), cluster.reload()),
 *   failed: (error) => console.error(error),
 * });
 * ```
 */
export function watchPaths(paths: readonly string[], target: WatchTarget): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let reloading = false;
  const changed = new Set<string>();
  const reload = (): void => {
    if (reloading) return; // the reload's end looks at `changed` again
    reloading = true;
    const files = [...changed];
    changed.clear();
    target.reload(files).catch(target.failed).finally(() => {
      reloading = false;
      if (changed.size > 0) reload();
    });
  };
  const onEvent = (root: string, file: string | null): void => {
    if (file && IGNORED.test(file)) return;
    changed.add(path.relative(process.cwd(), file ? path.join(root, file) : root) || ".");
    clearTimeout(timer);
    timer = setTimeout(reload, SETTLE_MS);
  };
  const watchers: FSWatcher[] = paths.map((root) => {
    const watcher = watch(root, { recursive: true }, (_event, file) => onEvent(root, file));
    watcher.on("error", target.failed);
    return watcher;
  });
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
