// The repository walk's answers kept across plans in a long-lived process
// (the library's agent case: many spawns, one set of roots), each with an
// inotify watch over every directory it read (native/git_watch.h). A later
// plan takes the kept answer when the kernel reported nothing in those
// directories that could change it and the root is still the inode walked;
// otherwise it walks again. A tree that only gains or loses files keeps its
// answer; a new directory or a name git looks at costs one walk, which
// watches again. A key is watched from its second walk on, so a process
// that plans once (the CLI) sets up no watch. The fds close with the
// process, or (off the main thread) when an answer is dropped.
import fs from 'fs';
import { native } from './native';
import type { GitWalk, WalkLimits } from './repository-scan';

interface Kept {
  walk: GitWalk;
  watch: number;
  /** The root's lstat answer before the walk: a root replaced through a renamed parent sends no event. */
  root: string;
}

// Answers watched at once (each an fd and a watch per directory of its tree).
const MAX_KEPT = 8;
const kept = new Map<string, Kept>(); // insertion order is recency
const walkedOnce = new Set<string>();

const keyOf = (root: string, budget: number, limits?: WalkLimits) =>
  `${budget}\0${limits?.maxDepth ?? ''}\0${limits?.ownOnly ? 1 : 0}\0${root}`;

function copy(w: GitWalk): GitWalk {
  return { ...w, entries: [...w.entries], bare: [...w.bare], unreadable: [...w.unreadable] };
}

function drop(key: string, now = false): void {
  const k = kept.get(key);
  if (!k) return;
  kept.delete(key);
  // A plan that walks again closes the old watch on the thread pool: closing
  // an inotify fd waits for its marks to be torn down (6.4 ms for /tmp's ~300
  // directories here), and planning must not wait for that. Closed already:
  // nothing held.
  if (!now) return fs.close(k.watch, () => {});
  try {
    fs.closeSync(k.watch);
  } catch {
    /* closed already */
  }
}

/** The walk of `root` (lib/repository-scan.ts), kept and reused while its watch says it would answer the same. */
export function keptWalk(root: string, budget: number, stamps: boolean, limits?: WalkLimits): GitWalk {
  const b = native().binding;
  if (!b.gitWalk) throw new Error(`the addon at ${native().addon} has no gitWalk: rebuild it (npm run build:native)`);
  const key = keyOf(root, budget, limits);
  const k = kept.get(key);
  if (k) {
    kept.delete(key);
    if (b.lstatAnswer!(root) === k.root && b.gitWatchHolds!(k.watch)) {
      kept.set(key, k);
      return copy(k.walk);
    }
    kept.set(key, k);
    drop(key);
  }
  const watch = walkedOnce.has(key) && !!b.gitWatchHolds && !!b.lstatAnswer;
  if (walkedOnce.size > 64) walkedOnce.clear();
  walkedOnce.add(key);
  const id = watch ? b.lstatAnswer!(root) : '';
  const w = b.gitWalk(root, budget, stamps || watch, watch, limits?.maxDepth ?? -1, !!limits?.ownOnly);
  if (w.watch === undefined) return w;
  const fd = w.watch;
  delete w.watch;
  kept.set(key, { walk: copy(w), watch: fd, root: id });
  while (kept.size > MAX_KEPT) drop(kept.keys().next().value as string);
  return w;
}

/** Whether an answer for this walk is kept under a watch (a pool's check then asks it, not each directory's stamp). */
export function isKept(root: string, budget: number, limits?: WalkLimits): boolean {
  return kept.has(keyOf(root, budget, limits));
}

/** Drops every kept answer and closes its watch (tests; configurePool(false) leaves them, they hold no sandbox). */
export function dropKeptWalks(): void {
  for (const key of [...kept.keys()]) drop(key, true);
  walkedOnce.clear();
}
