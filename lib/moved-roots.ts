// Moved roots: a writable root whose tree is the host's SRC shown at another
// path DEST (bubblewrap's `--bind SRC DEST`). It is a mount of its own (links
// and renames to other roots: EXDEV, as with bubblewrap), and the planner
// decides everything for it at DEST, the path the command and init see: the
// policy and the layout read the host through movedView, where DEST's tree is
// SRC's, so protected names, guards and init's path-keyed rules are all
// DEST's. Only what the helper checks on the host before the layout exists
// (clone_tree's source, expect_ids) is given at SRC (hostPath). Not a public
// policy key: the bwrap front end passes them under this symbol.
import path from 'path';
import type { FsStat, FsView, Listing } from './fsview';
import type { WalkLimits } from './repository-scan';
import type { Remembered } from './repository-memory';
import { isUnder, MountEntry, mountOf } from './mountinfo';

export interface MovedRoot {
  /** Absolute, resolved, a directory on the host. */
  src: string;
  /** Absolute, resolved, an existing directory: sbx-native makes no mount points on the host. */
  dest: string;
}

export const EXTRA_MOVED_ROOTS = Symbol.for('sbx-native.movedRoots');

/** The host path holding what the sandbox shows at `p` (p itself when it is in no moved root). */
export function hostPath(roots: readonly MovedRoot[], p: string): string {
  for (const r of roots) if (isUnder(p, r.dest)) return p === r.dest ? r.src : path.join(r.src, path.relative(r.dest, p));
  return p;
}

/** The sandbox paths at which the host path `p` is shown again through a moved root. */
export function movedPaths(roots: readonly MovedRoot[], p: string): string[] {
  return roots.filter((r) => isUnder(p, r.src)).map((r) => (p === r.src ? r.dest : path.join(r.dest, path.relative(r.src, p))));
}

function enoent(code: string, syscall: string, p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${p}'`), { code, syscall, path: p });
}

/**
 * `view` as the sandbox will show the host's files: a path under a DEST reads
 * the host's SRC. realpath walks the names itself, so that an absolute
 * symlink in SRC leads where it leads in the sandbox (not back into DEST).
 */
export function movedView(view: FsView, roots: readonly MovedRoot[]): FsView {
  if (roots.length === 0) return view;
  const h = (p: string) => hostPath(roots, p);
  const realpath = (p: string): string => {
    const todo = path.resolve(p).split('/').filter(Boolean);
    let cur = '/';
    let links = 0;
    while (todo.length) {
      const c = todo.shift()!;
      if (c === '.') continue;
      if (c === '..') {
        cur = path.dirname(cur);
        continue;
      }
      const next = path.join(cur, c);
      const st = view.lstat(h(next));
      if (!st) throw enoent('ENOENT', 'realpath', p);
      if (st.isSymbolicLink()) {
        if (++links > 40) throw enoent('ELOOP', 'realpath', p);
        const target = view.readlink(h(next));
        if (target.startsWith('/')) cur = '/';
        todo.unshift(...target.split('/').filter(Boolean));
        continue;
      }
      if (todo.length && !st.isDirectory()) throw enoent('ENOTDIR', 'realpath', p);
      cur = next;
    }
    return cur;
  };
  return {
    ...view,
    lstat: (p): FsStat | undefined => view.lstat(h(p)),
    stat: (p): FsStat | undefined => view.stat(h(realpathOr(p))),
    realpath,
    readlink: (p) => view.readlink(h(p)),
    readdir: (p) => view.readdir(h(p)),
    readFile: (p) => view.readFile(h(realpathOr(p))),
    exists: (p) => view.exists(h(realpathOr(p))),
    identity: (p) => view.identity(h(p)),
    ...(view.listing ? { listing: (p: string): Listing => view.listing!(h(p)) } : {}),
    // Walked at SRC, named at DEST: a walk below a moved root meets no other (each is apart from every writable area).
    ...(view.gitWalk
      ? {
          gitWalk: (root: string, budget: number, stamps?: boolean, limits?: WalkLimits) => {
            const src = h(root);
            const w = view.gitWalk!(src, budget, stamps, limits);
            const back = (p: string) => (src === root ? p : root + p.slice(src.length));
            return { ...w, entries: w.entries.map(back), bare: w.bare.map(back), unreadable: w.unreadable.map(back) };
          },
        }
      : {}),
    ...(view.rememberedRepositories
      ? {
          rememberedRepositories: (root: string) => {
            const src = h(root);
            const m = view.rememberedRepositories!(src);
            const back = (p: string) => (src === root ? p : root + p.slice(src.length));
            return { entries: m.entries.map(back), bare: m.bare.map(back) };
          },
        }
      : {}),
    ...(view.rememberRepositories
      ? {
          rememberRepositories: (found: Remembered) =>
            view.rememberRepositories!({ entries: found.entries.map(h), bare: found.bare.map(h) }),
        }
      : {}),
  };
  // stat, readFile and exists follow a final symlink: resolved as the sandbox resolves it first.
  function realpathOr(p: string): string {
    try {
      return realpath(p);
    } catch {
      return p;
    }
  }
}

/** Where `p` lies in its filesystem: the device and the path from the filesystem's root (mountinfo fields 3 and 4). */
function fsPlace(p: string, mounts: MountEntry[]): { dev: string; rel: string } | undefined {
  const m = mountOf(p, mounts);
  if (m.dev === undefined || m.root === undefined) return undefined;
  return { dev: m.dev, rel: path.join(m.root, path.relative(m.mountPoint, p)) };
}

/**
 * Whether the host paths `a` and `b` share inodes: one holds the other, in
 * the same mount, or in two mounts of the same filesystem (a bind mount on
 * the host). A Landlock rule sits on an inode, so the rule for a moved root's
 * DEST also grants writes through every other path that reaches SRC's inode.
 */
export function overlaps(a: string, b: string, mounts: MountEntry[]): boolean {
  if (isUnder(a, b) || isUnder(b, a)) return true;
  const pa = fsPlace(a, mounts);
  const pb = fsPlace(b, mounts);
  if (!pa || !pb) return true; // not known: taken as shared
  return pa.dev === pb.dev && (isUnder(pa.rel, pb.rel) || isUnder(pb.rel, pa.rel));
}
