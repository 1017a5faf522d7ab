// The repositories a writable root holds below its top (a vendored clone, a
// nested checkout, a bare repository), which the layout's look at each
// root's top does not find: one walk per plan (native/git_walk.cc names
// them; repository.ts protects each like a found one). Since init refuses a
// new `.git` or HEAD anywhere writable, the repositories at planning are all
// there will be for the run.
import path from 'path';
import type { FsView } from './fsview';

/** What one walk of a tree gives (native/git_walk.h). */
export interface GitWalk {
  /** Every `.git` entry, whatever its type. */
  entries: string[];
  /** Directories that are git directories themselves (HEAD beside objects and refs, or beside commondir). */
  bare: string[];
  /** Directories that could not be read: what they hold is unknown. */
  unreadable: string[];
  /** Entries read. */
  seen: number;
  /** The walk stopped at its budget: the rest of the tree is unknown. */
  exhausted: boolean;
  /** errno of opening the root (0: opened; ENOENT: nothing to walk). */
  error: number;
  /**
   * Asked with `stamps`: each directory read and its "dev:ino:ctime" from
   * before it was read, for a warm pool's check that nothing changed;
   * absent when they cannot be trusted (native/git_walk.h).
   */
  dirs?: string[];
  stamps?: string[];
  /** Asked with `watch`: an inotify fd over every directory read (native/git_watch.h); the caller closes it. */
  watch?: number;
}

/**
 * How far a walk goes (native/git_walk.h WalkLimits): directories more than
 * `maxDepth` levels below the root are not read, and with `ownOnly` a
 * directory the caller does not own is not entered (git itself refuses to use
 * a repository another user owns: safe.directory).
 */
export interface WalkLimits {
  maxDepth?: number;
  ownOnly?: boolean;
}

/**
 * Entries a plan's walks read at most, all roots together. Measured on
 * this machine (docs/policy.md): about 600-850 entries/ms with the tree in
 * the page cache, so the default costs at most some 60-80 ms per spawn; a
 * JavaScript project with its node_modules is commonly 10,000-50,000.
 */
export const DEFAULT_SCAN_BUDGET = 50_000;

const ENOENT = 2;
const isDir = (view: FsView, p: string) => {
  try {
    return !!view.lstat(p)?.isDirectory();
  } catch {
    return false;
  }
};

/** The walk through any view (an in-memory tree in test/planner), as native/git_walk.cc does it minus the mount check. */
export function walkThroughView(view: FsView, root: string, budget: number, limits?: WalkLimits): GitWalk {
  const out: GitWalk = { entries: [], bare: [], unreadable: [], seen: 0, exhausted: false, error: 0 };
  // The in-memory views have no owners: ownOnly is the native walk's alone.
  const maxDepth = limits?.maxDepth ?? Infinity;
  const todo: [string, number][] = [[root, 0]];
  let first = true;
  while (todo.length) {
    const [dir, depth] = todo.pop()!;
    let names: string[];
    try {
      if (!isDir(view, dir)) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      names = view.readdir(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (first) {
        out.error = code === 'ENOENT' ? ENOENT : 1;
        return out;
      }
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') out.unreadable.push(dir);
      continue;
    }
    first = false;
    const prefix = dir === '/' ? '' : dir;
    const subdirs: string[] = [];
    const seen = new Set<string>();
    for (const n of names) {
      if (++out.seen > budget) {
        out.exhausted = true;
        return out;
      }
      seen.add(n);
      if (n === '.git') {
        out.entries.push(`${prefix}/${n}`);
        continue;
      }
      if (isDir(view, `${prefix}/${n}`)) subdirs.push(`${prefix}/${n}`);
    }
    if (seen.has('HEAD') && ((seen.has('objects') && seen.has('refs')) || seen.has('commondir'))) {
      out.bare.push(dir);
      continue;
    }
    if (depth < maxDepth) todo.push(...subdirs.reverse().map((s): [string, number] => [s, depth + 1]));
  }
  return out;
}

// A remembered path counts only where it is still the path it was: no symlink on the way to it now.
function isReal(view: FsView, p: string): boolean {
  try {
    return view.realpath(p) === p;
  } catch {
    return false;
  }
}

function exists(view: FsView, p: string): boolean {
  try {
    return !!view.lstat(p);
  } catch {
    return false;
  }
}

export function gitWalk(view: FsView, root: string, budget: number, limits?: WalkLimits): GitWalk {
  return view.gitWalk ? view.gitWalk(root, budget, false, limits) : walkThroughView(view, root, budget, limits);
}

/** A root the walk could not cover, and why: repositories in what it did not read are not protected. */
export interface NotScanned {
  root: string;
  why: string;
}

export interface RepositoryScan {
  budget: number;
  /** Of `entries` and `bare`: how many came from the memory of earlier walks (lib/repository-memory.ts). */
  remembered: number;
  /** `.git` entries and bare git directories found, sorted. */
  entries: string[];
  bare: string[];
  notScanned: NotScanned[];
}

/**
 * Walks `roots` in order, sharing one budget; a root that `covered` says
 * lies in the walk of one walked before it is not walked again.
 */
export function scanRepositories(
  view: FsView,
  roots: string[],
  budget: number,
  covered: (root: string, by: string) => boolean,
  limitsOf: (root: string) => WalkLimits | undefined = () => undefined,
): RepositoryScan {
  const out: RepositoryScan = { budget, remembered: 0, entries: [], bare: [], notScanned: [] };
  const walked: string[] = [];
  const short: NotScanned[] = [];
  let left = budget;
  for (const root of roots) {
    if (walked.some((w) => covered(root, w))) continue;
    if (left <= 0) {
      const why =
        budget === 0 ? 'the walk is off (a budget of 0 entries)' : `the budget of ${budget} entries was spent on the roots before it`;
      short.push({ root, why });
      continue;
    }
    const limits = limitsOf(root);
    const w = gitWalk(view, root, left, limits);
    left -= w.seen;
    if (w.error && w.error !== ENOENT) {
      short.push({ root, why: `it could not be read (errno ${w.error})` });
      continue;
    }
    if (!limits) walked.push(root); // a shallow walk covers no root below it
    out.entries.push(...w.entries);
    out.bare.push(...w.bare);
    if (w.exhausted) short.push({ root, why: `its walk passed the budget of ${budget} entries` });
    else if (w.unreadable.length)
      short.push({
        root,
        why: `${w.unreadable.length} director${w.unreadable.length === 1 ? 'y' : 'ies'} in it could not be read (${w.unreadable[0]}${w.unreadable.length > 1 ? ', ...' : ''})`,
      });
  }
  // What the walks did not read may hold a repository an earlier walk found:
  // still there, it is protected as if found now (a root filled with entries
  // by an earlier command hides nothing that was found before).
  const found = new Set([...out.entries, ...out.bare]);
  for (const n of short) {
    const m = view.rememberedRepositories?.(n.root) ?? { entries: [], bare: [] };
    const entries = m.entries.filter(
      (e) => !found.has(e) && isReal(view, path.dirname(e)) && exists(view, e) && covered(path.dirname(e), n.root),
    );
    const bare = m.bare.filter((b) => !found.has(b) && isReal(view, b) && exists(view, path.join(b, 'HEAD')) && covered(b, n.root));
    for (const p of [...entries, ...bare]) found.add(p);
    out.entries.push(...entries);
    out.bare.push(...bare);
    out.remembered += entries.length + bare.length;
    const k = entries.length + bare.length;
    out.notScanned.push(
      k ? { root: n.root, why: `${n.why}; ${k} repositor${k === 1 ? 'y' : 'ies'} found there by earlier walks protected` } : n,
    );
  }
  out.entries = [...new Set(out.entries)].sort();
  out.bare = [...new Set(out.bare)].sort();
  return out;
}

/** Whether `p` lies at or below `dir`. */
export function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : dir + '/');
}
