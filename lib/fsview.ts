// What the planner may observe of the host: the file system, the mount table,
// the architecture, its own environment. policy.ts, guards.ts, layout.ts,
// config-trust.ts and plan.ts read the host only through an FsView, so a plan
// can be built from an in-memory tree (test/planner/) and every observation
// can be recorded for a later re-check (a warm pool reusing a plan must know
// what it depended on).
import fs from 'fs';
import path from 'path';
import type { MountEntry } from './mountinfo';
import { currentMounts } from './mount-watch';
import { GitWalk, walkThroughView, WalkLimits } from './repository-scan';
import { keptWalk } from './walk-cache';
import { memoryFile, Remembered, remember, rememberedUnder } from './repository-memory';

const ownMemory = () => memoryFile({ XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, HOME: process.env.HOME });

/** The part of fs.Stats the planner looks at. */
export interface FsStat {
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

/**
 * Calls mirror the fs sync calls they replace, errors included: lstat/stat
 * return undefined for ENOENT only (fs's throwIfNoEntry: false) and throw
 * anything else; realpath, readlink, readdir and readFile throw as fs does
 * (an Error with `code`). The planner's behaviour on a real host depends on
 * those errors, so a view must reproduce them.
 */
export interface FsView {
  lstat(p: string): FsStat | undefined;
  stat(p: string): FsStat | undefined;
  realpath(p: string): string;
  readlink(p: string): string;
  readdir(p: string): string[];
  /** utf8 */
  readFile(p: string): string;
  exists(p: string): boolean;
  /** "dev:ino" of a path (not following a final symlink), or undefined if it is gone. */
  identity(p: string): string | undefined;
  mounts(): MountEntry[];
  /** process.arch of the host the plan is for. */
  arch(): string;
  /** The planner's own environment (process.env); the command's environment is an input of its own. */
  env(name: string): string | undefined;
  /** process.getuid(), undefined where there is none. */
  uid(): number | undefined;
  /** sbx-native's package directory as loaded (its own files are guarded). */
  packageDir(): string;
  /** process.argv[1]: the script this process was started by, symlinks unresolved. */
  mainScript(): string | undefined;
  /**
   * A directory's entries as the planner uses them (listDir). Only a
   * recording view has its own: it notes which names were asked about,
   * so a later entry nobody asked about changes nothing.
   */
  listing?(p: string): Listing;
  /**
   * One walk of the tree at `root` for its git directories, reading at most
   * `budget` entries (lib/repository-scan.ts). Absent: walked through
   * readdir and lstat (walkThroughView). `stamps`: with the directories'
   * stamps, when they can be trusted (a recording view asks for them).
   */
  gitWalk?(root: string, budget: number, stamps?: boolean, limits?: WalkLimits): GitWalk;
  /** The repositories earlier walks found below `root` (lib/repository-memory.ts); absent: none. */
  rememberedRepositories?(root: string): Remembered;
  /** Keeps what a plan's walks found, for the walks of later plans. */
  rememberRepositories?(found: Remembered): void;
}

/** What the planner asks of a directory: whether a name is in it, or (iterating) all of it. A Set<string> is one. */
export interface Listing extends Iterable<string> {
  has(name: string): boolean;
}

/** The entries of `d` (throws as readdir does). */
export function listDir(view: FsView, d: string): Listing {
  return view.listing ? view.listing(d) : new Set(view.readdir(d));
}

export const realView: FsView = {
  lstat: (p) => fs.lstatSync(p, { throwIfNoEntry: false }),
  stat: (p) => fs.statSync(p, { throwIfNoEntry: false }),
  // One syscall (fs.realpathSync lstats every component in JS), after the same
  // lexical `..` that fs.realpathSync applies first: `missing/..` names its parent.
  realpath: (p) => fs.realpathSync.native(path.resolve(p)),
  readlink: (p) => fs.readlinkSync(p),
  readdir: (p) => fs.readdirSync(p),
  readFile: (p) => fs.readFileSync(p, 'utf8'),
  exists: (p) => fs.existsSync(p),
  identity: (p) => {
    // Numbers are exact below 2^53 (and a larger number reads as >= 2^53):
    // the bigint form, which also builds four Dates, only when needed.
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (st.ino < Number.MAX_SAFE_INTEGER && st.dev < Number.MAX_SAFE_INTEGER) return `${st.dev}:${st.ino}`;
    const big = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
    return big ? `${big.dev}:${big.ino}` : undefined;
  },
  mounts: currentMounts,
  arch: () => process.arch,
  env: (name) => process.env[name],
  uid: () => process.getuid?.(),
  packageDir: () => path.join(__dirname, '..'),
  mainScript: () => process.argv[1],
  gitWalk: (root, budget, stamps, limits) => keptWalk(root, budget, !!stamps, limits),
  rememberedRepositories: (root) => rememberedUnder(ownMemory(), root),
  rememberRepositories: (found) => remember(ownMemory(), found),
};

/** An lstat answered by the addon (native/recheck.h): the type and identity the planner uses, nothing else. */
class TypeAndIdentity implements FsStat {
  constructor(
    private readonly type: string,
    readonly id: string,
  ) {}
  isDirectory(): boolean {
    return this.type === 'd';
  }
  isFile(): boolean {
    return this.type === 'f';
  }
  isSymbolicLink(): boolean {
    return this.type === 'l';
  }
}

/**
 * `view` with lstat and realpath remembered for one plan (and stat, for a name that is no symlink): the policy's
 * resolver, the layout and the plan's identities ask about the same paths
 * (1000 carve-outs: 2000 lstats, a third of prepare()), and an identity then
 * comes from the same observation the decisions came from. The guards ask
 * realpath about the package and its lookup directories again and again (35
 * calls, 21 paths, for one root): a failed realpath (the missing ones, a
 * thrown Error each) is remembered too, so each path is resolved once; lstat
 * errors are not. Not for a recording view: a warm pool re-checks each
 * identity it was asked for. `lstatAnswer` (the addon's, when loaded) answers
 * an lstat in one call without building an fs.Stats and its four Dates; an
 * error other than ENOENT is asked of `view` again, so it throws as fs does.
 */
export function onePlanView(view: FsView, lstatAnswer?: (p: string) => string): FsView {
  const seen = new Map<string, fs.Stats | FsStat | undefined>();
  const lstat = (p: string) => {
    if (seen.has(p)) return seen.get(p);
    let st: fs.Stats | FsStat | undefined;
    const a = lstatAnswer?.(p);
    if (a === 'n') st = undefined;
    else if (a !== undefined && a[0] !== 'e') st = new TypeAndIdentity(a[0], a.slice(1));
    else st = view.lstat(p);
    seen.set(p, st);
    return st;
  };
  const reals = new Map<string, { real: string } | { error: unknown }>();
  const realpath = (p: string) => {
    let r = reals.get(p);
    if (!r) {
      try {
        r = { real: view.realpath(p) };
      } catch (error) {
        r = { error };
      }
      reals.set(p, r);
    }
    if ('error' in r) throw r.error;
    return r.real;
  };
  // A stat of a name that lstat found not to be a symlink is that lstat (the
  // same inode): a hidden top-level entry of an empty root is then asked once.
  // Anything else (a symlink, absent, an error, so it throws as stat does) asks `view`.
  const stat = (p: string) => {
    let st: fs.Stats | FsStat | undefined;
    try {
      st = lstat(p);
    } catch {
      st = undefined;
    }
    return st && !st.isSymbolicLink() ? st : view.stat(p);
  };
  return {
    ...view,
    lstat,
    stat,
    realpath,
    identity: (p) => {
      const st = lstat(p);
      if (!st) return undefined;
      if (st instanceof TypeAndIdentity) return st.id;
      const { dev, ino } = st as Partial<fs.Stats>;
      if (typeof dev === 'number' && typeof ino === 'number' && ino < Number.MAX_SAFE_INTEGER && dev < Number.MAX_SAFE_INTEGER)
        return `${dev}:${ino}`;
      return view.identity(p);
    },
  };
}

/**
 * Whether lstat finds no `p` (after the same lexical `..` as realpath's), so
 * its realpath would fail: a failed realpath throws an Error, tens of
 * microseconds each on a cold start, and a plan asks about a dozen missing
 * names. Asked of every view but realView, whose lstat builds an fs.Stats
 * (there a realpath that succeeds costs less); a plan's view answers from
 * the addon. An lstat that throws (not searchable, not a directory): false,
 * realpath says.
 */
function missing(view: FsView, p: string): boolean {
  if (view === realView) return false;
  try {
    return !view.lstat(path.resolve(p));
  } catch {
    return false;
  }
}

/** `view.realpath(p)`, undefined when it fails (missing, a loop, not searchable). */
export function realOrUndefined(view: FsView, p: string): string | undefined {
  if (missing(view, p)) return undefined;
  try {
    return view.realpath(p);
  } catch {
    return undefined;
  }
}

/**
 * realOrUndefined for many paths that share parents (1000 carve-outs in one
 * root): each parent is resolved once, then a name that is not a symlink is
 * one lstat (realpath(3) reads every component again). Anything unusual (a
 * symlink, "..", a trailing slash) is resolved in full.
 */
export function realResolver(view: FsView): (p: string) => string | undefined {
  const dirs = new Map<string, string | undefined>();
  return (p) => {
    const base = path.basename(p);
    if (p === '/' || base === '.' || base === '..' || p !== path.normalize(p) || p.endsWith('/')) return realOrUndefined(view, p);
    const parent = path.dirname(p);
    let real = dirs.get(parent);
    if (real === undefined && !dirs.has(parent)) dirs.set(parent, (real = realOrUndefined(view, parent)));
    if (real === undefined) return undefined;
    const full = real === '/' ? `/${base}` : `${real}/${base}`;
    let st: FsStat | undefined;
    try {
      st = view.lstat(full);
    } catch {
      return undefined;
    }
    if (!st) return undefined;
    return st.isSymbolicLink() ? realOrUndefined(view, p) : full;
  };
}

/** `view.stat(p)`, with ENOENT thrown as fs.statSync throws it. */
/**
 * `p` with the symlinks of its existing part resolved, as the kernel walks
 * it; the last component followed or not. Undefined if `p` is not absolute.
 */
export function canonicalPath(view: FsView, p: string, followLast: boolean): string | undefined {
  if (!path.isAbsolute(p)) return undefined;
  const rest: string[] = [];
  let dir = p;
  if (!followLast) {
    rest.push(path.basename(p));
    dir = path.dirname(p);
  }
  for (; ; dir = path.dirname(dir)) {
    try {
      if (!missing(view, dir)) return path.join(view.realpath(dir), ...rest);
    } catch {
      /* below: one level up */
    }
    if (dir === '/') return undefined;
    rest.unshift(path.basename(dir));
  }
}

export function statOrThrow(view: FsView, p: string): FsStat {
  const st = view.stat(p);
  if (st) return st;
  throw Object.assign(new Error(`ENOENT: no such file or directory, stat '${p}'`), { errno: -2, code: 'ENOENT', syscall: 'stat', path: p });
}

export type StatType = 'dir' | 'file' | 'symlink' | 'other';

export function statType(st: FsStat): StatType {
  return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
}

/**
 * One thing the planner saw. `path` is the name asked about (for env: the
 * variable). `result` is plain JSON: a stat's type (null: missing), the
 * string or list returned, a boolean, or `{ error: code }` for a throw.
 * `names` is what a listing was asked (listDir): `{ present, absent }`, the
 * names found in the directory and those asked about and not found; its
 * whole list is a `readdir` observation, noted only once it is iterated.
 */
export interface Observation {
  op:
    | 'lstat'
    | 'stat'
    | 'realpath'
    | 'readlink'
    | 'readdir'
    | 'names'
    | 'readFile'
    | 'exists'
    | 'identity'
    | 'mounts'
    | 'arch'
    | 'env'
    | 'uid'
    | 'packageDir'
    | 'mainScript'
    | 'gitWalk'
    | 'remembered';
  path?: string;
  result: unknown;
  /** A gitWalk's directories and their stamps (GitWalk.dirs): unchanged, the walk would answer as it did. */
  stamps?: { dirs: string[]; stamps: string[] };
}

/**
 * A view that notes every call it answers, in order, into `observations`.
 * Re-asking each one of a fresh view and comparing results tells whether a
 * plan built earlier still holds (the host may have changed since).
 */
export function recording(view: FsView): { view: FsView; observations: Observation[] } {
  const observations: Observation[] = [];
  const note = <T>(op: Observation['op'], p: string | undefined, f: () => T, show: (v: T) => unknown = (v) => v ?? null): T => {
    let v: T;
    try {
      v = f();
    } catch (e) {
      observations.push({ op, ...(p === undefined ? {} : { path: p }), result: { error: (e as NodeJS.ErrnoException).code ?? String(e) } });
      throw e;
    }
    observations.push({ op, ...(p === undefined ? {} : { path: p }), result: show(v) });
    return v;
  };
  const type = (st: FsStat | undefined) => (st ? statType(st) : null);
  return {
    observations,
    view: {
      lstat: (p) => note('lstat', p, () => view.lstat(p), type),
      stat: (p) => note('stat', p, () => view.stat(p), type),
      realpath: (p) => note('realpath', p, () => view.realpath(p)),
      readlink: (p) => note('readlink', p, () => view.readlink(p)),
      readdir: (p) =>
        note(
          'readdir',
          p,
          () => view.readdir(p),
          (v) => [...v].sort(),
        ), // the planner reads it as a set
      listing: (p) => {
        const set = new Set(
          note(
            'readdir',
            p,
            () => view.readdir(p),
            () => undefined,
          ),
        );
        observations.pop(); // noted as a readdir only if it failed (above) or is iterated (below)
        const result: NamesResult = { present: [], absent: [] };
        observations.push({ op: 'names', path: p, result });
        const asked = new Set<string>();
        let listed = false;
        return {
          has: (n) => {
            const v = set.has(n);
            if (!asked.has(n)) {
              asked.add(n);
              (v ? result.present : result.absent).push(n);
            }
            return v;
          },
          [Symbol.iterator]: () => {
            if (!listed) observations.push({ op: 'readdir', path: p, result: [...set].sort() });
            listed = true;
            return set[Symbol.iterator]();
          },
        };
      },
      readFile: (p) => note('readFile', p, () => view.readFile(p)),
      exists: (p) => note('exists', p, () => view.exists(p)),
      identity: (p) => note('identity', p, () => view.identity(p)),
      mounts: () =>
        note(
          'mounts',
          undefined,
          () => view.mounts(),
          (v) => v.map((m) => ({ ...m })),
        ),
      arch: () => note('arch', undefined, () => view.arch()),
      env: (name) => note('env', name, () => view.env(name)),
      uid: () => note('uid', undefined, () => view.uid()),
      packageDir: () => note('packageDir', undefined, () => view.packageDir()),
      mainScript: () => note('mainScript', undefined, () => view.mainScript()),
      gitWalk: (root, budget, _stamps, limits) => {
        const w = note(
          'gitWalk',
          root,
          () => (view.gitWalk ? view.gitWalk(root, budget, true, limits) : walkThroughView(view, root, budget, limits)),
          (w) => walkAnswer(w, budget, limits),
        );
        if (w.dirs && w.stamps) observations[observations.length - 1].stamps = { dirs: w.dirs, stamps: w.stamps };
        return w;
      },
      rememberedRepositories: (root) => note('remembered', root, () => view.rememberedRepositories?.(root) ?? { entries: [], bare: [] }),
      rememberRepositories: (found) => view.rememberRepositories?.(found),
    },
  };
}

/**
 * A walk as a recorded observation: what the plan's decisions come from
 * (the names found, what could not be read, whether it stopped), with the
 * budget to ask it again; not the count of entries, which changes with any
 * file made anywhere in the tree.
 */
export function walkAnswer(w: GitWalk, budget: number, limits?: WalkLimits): unknown {
  return {
    budget,
    ...(limits ? { limits } : {}),
    entries: [...w.entries].sort(),
    bare: [...w.bare].sort(),
    unreadable: [...w.unreadable].sort(),
    exhausted: w.exhausted,
    error: w.error,
  };
}

/** The budget a recorded walk was asked with. */
export function walkBudget(o: Observation): number {
  return (o.result as { budget?: number } | null)?.budget ?? 0;
}

/** The limits a recorded walk was asked with (none: the whole tree). */
export function walkLimits(o: Observation): WalkLimits | undefined {
  return (o.result as { limits?: WalkLimits } | null)?.limits;
}

/** A `names` observation's result. */
export interface NamesResult {
  present: string[];
  absent: string[];
}

/** Whether `d`'s entries still answer a `names` observation as they did. */
export function namesHold(view: FsView, d: string, r: NamesResult): boolean {
  let now: Set<string>;
  try {
    now = new Set(view.readdir(d));
  } catch {
    return false; // it was listed then
  }
  return r.present.every((n) => now.has(n)) && !r.absent.some((n) => now.has(n));
}

/** Asks `view` every observation again: the ones whose answer differs now (empty: the plan still holds). */
export function changedObservations(observations: readonly Observation[], view: FsView): Observation[] {
  const again = recording(view);
  const ask: Record<Observation['op'], (p: string) => unknown> = {
    lstat: (p) => again.view.lstat(p),
    stat: (p) => again.view.stat(p),
    realpath: (p) => again.view.realpath(p),
    readlink: (p) => again.view.readlink(p),
    readdir: (p) => again.view.readdir(p),
    names: () => undefined, // above
    readFile: (p) => again.view.readFile(p),
    exists: (p) => again.view.exists(p),
    identity: (p) => again.view.identity(p),
    mounts: () => again.view.mounts(),
    arch: () => again.view.arch(),
    env: (p) => again.view.env(p),
    uid: () => again.view.uid(),
    packageDir: () => again.view.packageDir(),
    mainScript: () => again.view.mainScript(),
    gitWalk: () => undefined, // below: it needs the budget
    remembered: (p) => again.view.rememberedRepositories!(p),
  };
  const out: Observation[] = [];
  for (const o of observations) {
    if (o.op === 'gitWalk') {
      const budget = walkBudget(o);
      const limits = walkLimits(o);
      const now = again.view.gitWalk!(o.path!, budget, false, limits);
      if (JSON.stringify(walkAnswer(now, budget, limits)) !== JSON.stringify(o.result)) out.push(o);
      continue;
    }
    if (o.op === 'names') {
      if (!namesHold(view, o.path!, o.result as NamesResult)) out.push(o);
      continue;
    }
    try {
      ask[o.op](o.path!);
    } catch {
      /* noted as { error } */
    }
    const now = again.observations[again.observations.length - 1];
    if (JSON.stringify(now.result) !== JSON.stringify(o.result)) out.push(o);
  }
  return out;
}
