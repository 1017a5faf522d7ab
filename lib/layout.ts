// Rules -> mount layout: which paths get a read-write bind, which are carved
// out read-only, masked, or pinned. Pure decisions: the host is only read,
// through an FsView (to find protected names and their types), so a layout
// can be computed from an in-memory tree. plan.ts turns a Layout into steps.
import path from 'path';
import { canonicalPath, FsStat, FsView, listDir, Listing, realOrUndefined, realView, statOrThrow } from './fsview';
import { MountEntry, isUnder, mountOf } from './mountinfo';
import type { ResolvedPolicy, Rule } from './policy';
import type { FreshNode } from './fresh-nodes';
import { repositoryModel } from './repository';
import { movedPaths } from './moved-roots';
import { NotScanned, scanRepositories } from './repository-scan';

/** How the shared temporary directories are walked for repositories (layout's scan). */
const TMP_WALK = { maxDepth: 2, ownOnly: true };

export { GIT_CODE_PATHS } from './repository';

/** Writable roots that live in one mount: they share one read-write bind of their deepest common ancestor. */
export interface RootGroup {
  ancestor: string;
  roots: string[];
  /** Directories between the ancestor and the roots, with the names on the way kept out of the sealing. */
  chain: { dir: string; keep: string[] }[];
  /** A moved root (lib/moved-roots.ts): the host directory whose tree is mounted at the ancestor (its one root). */
  source?: string;
}

export type Action =
  | { kind: 'group'; path: string; group: RootGroup }
  | { kind: 'readonly'; path: string; why: string } // bind read-only onto itself (also pins the name)
  // A tmpfs mask is writable scratch (a private /tmp, lib/scratch.ts): MODE is its root's, SIZE its limit (bytes, 0: the kernel's).
  // A file mask with DATA (hex) is a data file (lib/data-files.ts), writable by the command when WRITABLE.
  | {
      kind: 'mask';
      path: string;
      type: 'file' | 'dir' | 'tmpfs';
      inner: { rel: string; dir: boolean }[];
      mode?: number;
      size?: number;
      data?: string;
      writable?: boolean;
      /** A data file in a fresh tmpfs: its mount point is made there, and it has no host inode to check. */
      fresh?: boolean;
      /** A tmpfs mask: what the helper makes in it once mounted, in order (lib/fresh-nodes.ts), relative to it. */
      made?: (FreshNode & { rel: string })[];
    }
  | { kind: 'reveal'; path: string; writable: boolean }; // re-expose a path hidden by a mask

export interface Layout {
  /** Every path that gets Landlock write rights. */
  writable: string[];
  /** Writable data files (lib/data-files.ts): Landlock grants them a file's write rights. Absent when none. */
  writableFiles?: string[];
  groups: RootGroup[];
  /** Mount actions in the order they must happen (shallow first). */
  actions: Action[];
  /** Protected names that do not exist yet: the supervisor refuses to create them (docs/supervisor.md). */
  missingProtected: string[];
  /**
   * Directories on the way from a writable root to a protected path (existing
   * or not, and on the way to a protected symlink's target), in writable
   * areas: the supervisor refuses renaming them, or anything onto them. A
   * read-only bind pins a name, not the directories above it.
   */
  protectedChain: string[];
  /**
   * Names no directory in a writable area may gain (the supervisor refuses
   * making them where none exists): `.git` and `HEAD`, which would start a
   * new repository whose config and hooks are the command's. Empty with allowGitWrites.
   */
  newNames: string[];
  /** Paths where a new name may be made anyway: the HEAD and logs/HEAD of the repositories the layout protects. */
  newAllow: string[];
  /** Paths where a new name may be made as a regular file by an O_CREAT open: uv's empty `.git` markers. */
  newFileAllow: string[];
  /**
   * The git directories the layout found: their sequencer files are kept
   * even while the directory holds no HEAD or objects (a command that
   * removed them could re-make them there: newAllow).
   */
  gitDirs: string[];
  /**
   * Protected files inside a pinned directory (the hooks of a repository the
   * layout finds): with the read-only paths themselves, whose inodes init
   * guards against a second name (a hard link made before the sandbox).
   */
  pinnedFiles: string[];
  /**
   * Guarded directories (sbx-native's own files, its dependencies) and every
   * directory kept read-only in a writable area (carve-outs, protected
   * names): a file in one may have a second name in a writable area (pnpm's
   * store hard-links every installed file), so init refuses writing any file
   * whose inode it finds below them (it walks them the first time a file with
   * more than one name is opened for writing).
   */
  guardTrees: string[];
  /**
   * The walk of the writable roots for repositories below their tops
   * (lib/repository-scan.ts): its budget, how many it found, and the roots
   * it did not cover (repositories there are not protected). Absent when
   * `.git` is not protected (allowGitWrites) or nothing is writable.
   */
  repositoryScan?: { budget: number; found: number; notScanned: NotScanned[] };
}

// Counted, not split: the sorts below call it for every comparison (1000 carve-outs: ~20,000 calls).
const depth = (p: string) => {
  if (p === '/') return 0;
  let n = 0;
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) n++;
  return n;
};

/** `items` sorted by depth of `key(item)` first, then by `tie`: each depth computed once. */
function byDepth<T>(items: T[], key: (x: T) => string, tie: (a: T, b: T) => number): T[] {
  const d = new Map<T, number>(items.map((x) => [x, depth(key(x))]));
  return items.sort((a, b) => d.get(a)! - d.get(b)! || tie(a, b));
}

function commonAncestor(paths: string[]): string {
  const split = paths.map((p) => p.split('/').filter(Boolean));
  const out: string[] = [];
  for (let i = 0; split.every((s) => i < s.length && s[i] === split[0][i]); i++) out.push(split[0][i]);
  return '/' + out.join('/');
}

export function groupRoots(roots: string[], mounts: MountEntry[], separate: (root: string) => boolean = () => false): RootGroup[] {
  const byMount = new Map<number | string, string[]>();
  for (const r of roots) {
    const id = separate(r) ? r : mountOf(r, mounts).id;
    byMount.set(id, [...(byMount.get(id) ?? []), r]);
  }
  const groups: RootGroup[] = [];
  for (const rs of byMount.values()) {
    const ancestor = commonAncestor(rs);
    const keep = new Map<string, Set<string>>();
    for (const r of rs) {
      for (let child = r; child !== ancestor; child = path.dirname(child)) {
        const dir = path.dirname(child);
        keep.set(dir, (keep.get(dir) ?? new Set()).add(path.basename(child)));
      }
    }
    const chain = [...keep].map(([dir, names]) => ({ dir, keep: [...names].sort() })).sort((a, b) => depth(a.dir) - depth(b.dir));
    groups.push({ ancestor, roots: rs.sort(), chain });
  }
  return groups;
}

type Region = 'default' | 'write' | 'none' | 'readonly';

/**
 * How the kernel resolves `name` under the real directory `base`: the
 * symlinks it follows on the way (in order) and where it ends, as the real
 * path of the last directory reached plus the remaining names, with that
 * entry's lstat when it exists. A component that is missing or not a
 * directory ends the walk: the rest is what would have to be created there.
 * When that rest climbs with "..", the missing component itself is the end
 * (refusing to create it is the only answer that holds whatever comes after).
 */
function walk(base: string, name: string, view: FsView): { links: string[]; end: string; st: FsStat | undefined } {
  const links: string[] = [];
  const todo = name.split('/').filter(Boolean);
  let cur = base;
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      cur = path.dirname(cur);
      continue;
    }
    const p = path.join(cur, c);
    const st = view.lstat(p);
    if (st?.isSymbolicLink() && links.length < 40) {
      links.push(p);
      const target = view.readlink(p);
      if (target.startsWith('/')) cur = '/';
      todo.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    if (todo.length === 0 || st?.isSymbolicLink()) return { links, end: p, st }; // the end, or a loop: pinned where it is
    if (!st || !st.isDirectory()) {
      if (todo.includes('..')) return { links, end: p, st };
      return { links, end: path.join(p, ...todo), st: undefined };
    }
    cur = p;
  }
  return { links, end: cur, st: view.lstat(cur) }; // a name of "." (or one that climbs back)
}

/**
 * `separateRoots`: one mount per root, as bubblewrap does (the mount-only
 * level, without Landlock). `view`: where the host is read (default: the real one).
 */
export function computeLayout(policy: ResolvedPolicy, mounts: MountEntry[], opts: { separateRoots?: boolean; view?: FsView } = {}): Layout {
  const view = opts.view ?? realView;
  const rules: Rule[] = [...policy.rules];
  if (policy.tmp === 'private') rules.push({ path: '/tmp', access: 'none', from: 'tmp-private' });
  const scratch = new Map((policy.scratch ?? []).map((s) => [s.path, s]));
  for (const p of scratch.keys()) rules.push({ path: p, access: 'none', from: 'scratch' });
  const dataFiles = new Map((policy.dataFiles ?? []).map((d) => [d.path, d]));
  for (const p of dataFiles.keys()) rules.push({ path: p, access: 'none', from: 'data-file' });
  const writableFiles: string[] = [];
  byDepth(
    rules,
    (r) => r.path,
    (a, b) => (a.path < b.path ? -1 : 1),
  );

  // Walk rules shallow to deep, tracking the region each one sits in.
  const region = new Map<string, Region>();
  // The region of the nearest rule strictly above p: walk up p's parents (O(depth), not O(rules)).
  const regionOf = (p: string): Region => {
    for (let dir = path.dirname(p); ; dir = path.dirname(dir)) {
      const r = region.get(dir);
      if (r) return r;
      if (dir === '/') return 'default';
    }
  };
  // The rule whose region holds p (the nearest rule path above it).
  const ruleAbove = (p: string): string => {
    for (let dir = path.dirname(p); ; dir = path.dirname(dir)) if (region.has(dir) || dir === '/') return dir;
  };
  const tops: string[] = [];
  const actions: Action[] = [];
  const writable: string[] = [];
  const nested: string[] = []; // requested roots inside another root: no mount of their own, but their protected names count
  const movedSrc = new Map((policy.movedRoots ?? []).map((m) => [m.dest, m.src]));
  for (const r of rules) {
    const parent = regionOf(r.path);
    if (r.access === 'write' && movedSrc.has(r.path)) {
      // A mount of its own in the read-only tree (policy.ts kept it apart from every other writable area).
      if (parent !== 'default') throw new Error(`layout: the moved root ${r.path} lies in a hidden or writable place`);
      writable.push(r.path);
      tops.push(r.path);
      region.set(r.path, 'write');
      continue;
    }
    if (r.access === 'write') {
      // Already writable, nothing in between, unless it lives in a mount below
      // the one made writable (a tmpfs at /tmp/x holding the root /tmp/x/ws):
      // mounts below a root are made read-only again, so it needs its own.
      if (parent === 'write' && mountOf(r.path, mounts).id === mountOf(ruleAbove(r.path), mounts).id) {
        if (r.from !== 'tmp') nested.push(r.path);
        continue;
      }
      if (parent === 'write') {
        writable.push(r.path);
        tops.push(r.path);
        region.set(r.path, 'write');
        continue;
      }
      writable.push(r.path);
      if (parent === 'default') tops.push(r.path);
      else actions.push({ kind: 'reveal', path: r.path, writable: true });
      region.set(r.path, 'write');
    } else if (r.access === 'read') {
      if (parent === 'write') actions.push({ kind: 'readonly', path: r.path, why: r.from });
      else if (parent === 'none') actions.push({ kind: 'reveal', path: r.path, writable: false });
      region.set(r.path, parent === 'default' ? 'default' : 'readonly');
    } else {
      const sc = r.from === 'scratch' ? scratch.get(r.path) : undefined;
      if (sc) {
        // Writable scratch, also inside a hidden place (the mask above gets a mount point for it).
        actions.push({ kind: 'mask', path: r.path, type: 'tmpfs', inner: [], mode: sc.mode, size: sc.size });
        writable.push(r.path);
        region.set(r.path, 'none');
        continue;
      }
      const df = r.from === 'data-file' ? dataFiles.get(r.path) : undefined;
      if (df) {
        // Also inside a hidden place, as scratch: the mask above gets a mount point for it.
        actions.push({
          kind: 'mask',
          path: r.path,
          type: 'file',
          inner: [],
          mode: df.mode,
          data: df.data,
          writable: df.writable,
          ...(df.fresh ? { fresh: true } : {}),
        });
        if (df.writable) writableFiles.push(r.path);
        region.set(r.path, 'none');
        continue;
      }
      if (parent === 'none') continue;
      const type = r.from === 'tmp-private' ? 'tmpfs' : statOrThrow(view, r.path).isDirectory() ? 'dir' : 'file'; // a socket is masked by an empty file
      actions.push({ kind: 'mask', path: r.path, type, inner: [], ...(type === 'tmpfs' ? { mode: 0o1777 } : {}) });
      region.set(r.path, 'none');
    }
  }
  if (policy.tmp === 'private') writable.push('/tmp');

  // /tmp and $TMPDIR get a mount of their own: tools cannot count on linking
  // from a temp dir anyway (it is often a tmpfs), and sharing an ancestor
  // with the project would usually mean sealing every entry of /.
  const tmpRoots = new Set(rules.filter((r) => r.from === 'tmp').map((r) => r.path));
  const groups = groupRoots(tops, mounts, (r) => !!opts.separateRoots || tmpRoots.has(r) || movedSrc.has(r));
  for (const g of groups) if (movedSrc.has(g.ancestor)) g.source = movedSrc.get(g.ancestor);
  for (const g of groups) actions.push({ kind: 'group', path: g.ancestor, group: g });

  // Protected names at the top of every writable root, and of $HOME when writable.
  const missingProtected: string[] = []; // an array: hashing 15 paths per root would double the cost of big plans
  let walked = false; // whether a symlink walk may have added a path twice
  const chain = new Set<string>();
  const bases = [...writable.filter((w) => w !== '/tmp' && !scratch.has(w)), ...nested]; // scratch is new and empty: nothing to protect
  if (policy.home && regionOf(policy.home + '/x') === 'write' && !bases.includes(policy.home)) bases.push(policy.home);
  const protectedPaths = new Set(actions.filter((a) => a.kind !== 'group').map((a) => a.path));
  const protectPath = (p: string, why: string) => {
    if (protectedPaths.has(p)) return;
    protectedPaths.add(p);
    actions.push({ kind: 'readonly', path: p, why });
  };
  // Renaming a directory above a protected path moves the path away, and the
  // old name can be made anew: every directory from the writable area's top
  // down to it (those whose parent is writable) is kept where it is.
  const keepChain = (p: string) => {
    for (let d = path.dirname(p); d !== '/' && regionOf(d) === 'write' && !chain.has(d); d = path.dirname(d)) chain.add(d);
  };
  const writableAt = (p: string) => regionOf(p + '/x') === 'write';
  const git = policy.protect.includes('.git'); // not with allowGitWrites
  // `name` under the real directory `base`, resolved as the kernel does:
  // the symlinks on the way pinned, the end kept read-only when it exists
  // or refused when it does not. Returns the end when it exists (and is writable).
  const guardName = (base: string, name: string, present: Listing, why: string): { end: string; st: FsStat } | undefined => {
    const logical = `${base === '/' ? '' : base}/${name}`;
    if (!present.has(name.split('/')[0])) {
      // Nothing of it exists (so no rule below the base either): no lookup
      // needed, the path and the directories between are all to be made.
      missingProtected.push(logical);
      for (let d = path.dirname(logical); d !== base; d = path.dirname(d)) chain.add(d);
      keepChain(`${base}/x`);
      return undefined;
    }
    const w = walk(base, name, view);
    // Each symlink the kernel follows on the way decides where the name
    // leads: pinned, so it cannot be removed or replaced.
    w.links.forEach((l, i) => {
      if (regionOf(l) !== 'write') return;
      protectPath(l, i === 0 && l === logical ? `${why} (symlink: the name is pinned)` : `${why} (symlink on the way to ${w.end})`);
      keepChain(l);
    });
    if (!writableAt(w.end)) return undefined; // read-only anyway
    if (!w.st) {
      missingProtected.push(w.end);
      walked = true;
      keepChain(w.end);
      return undefined;
    }
    return { end: w.end, st: w.st };
  };
  // A listing, not the list: the pool re-checks the names asked about, so a
  // new file nobody asked about does not discard a pooled plan.
  const readdir = (d: string): Listing => {
    try {
      return listDir(view, d);
    } catch {
      return new Set<string>();
    }
  };
  const pin = (p: string, why: string) => {
    protectPath(p, why);
    keepChain(p);
  };
  const repos = repositoryModel({
    view,
    home: policy.home,
    writableAt,
    guardName,
    pin,
    readdir,
    missing: (p) => {
      missingProtected.push(p);
      walked = true;
      keepChain(p);
    },
  });
  for (const base of bases) {
    // One readdir per root instead of an lstat per protected name (1000 roots x 15 names).
    const present = readdir(base);
    keepChain(`${base}/x`); // the base itself, when its parent is writable (a nested root, $HOME)
    for (const name of policy.protect) {
      const why = `protect ${name}`;
      const e = guardName(base, name, present, why);
      if (!e) continue;
      const w = e.end === `${base === '/' ? '' : base}/${name}` ? why : `${why} (symlink target)`;
      if (name !== '.git') pin(e.end, w);
      else repos.gitEntry(e, w);
    }
    if (git && present.has('.gitmodules') && present.has('.git')) repos.submodules(base);
  }
  // The repositories below the tops (a vendored clone, a nested checkout, a
  // bare repository): one walk of the roots, each found one protected like
  // those above. $TMPDIR and /tmp (shared, often large) come last and only
  // TMP_WALK levels deep, into the caller's own directories: a clone made
  // there (/tmp/x, mktemp -d's /tmp/tmp.X/x) is found.
  let repositoryScan: Layout['repositoryScan'];
  if (git && writable.length > 0) {
    const tops = new Set(bases);
    const roots = [...bases.filter((b) => !tmpRoots.has(b)), ...[...tmpRoots].filter((t) => writable.includes(t))];
    const sameMount = (a: string, b: string) => mountOf(a, mounts).id === mountOf(b, mounts).id;
    const scan = scanRepositories(
      view,
      roots,
      policy.repositoryScan.budget,
      (r, by) => isUnder(r, by) && sameMount(r, by),
      (r) => (tmpRoots.has(r) ? TMP_WALK : undefined),
    );
    // uv's empty `.git` markers (newFileAllow below): uv opens them for writing again; init refuses any other `.git` file's write.
    const caches = policy.gitMarkerDirs.map((d) => canonicalPath(view, d, true)).filter((d): d is string => !!d);
    const uvMarker = (e: string) => /^sdists-v\d+$/.test(path.basename(path.dirname(e))) && caches.includes(path.dirname(path.dirname(e)));
    let found = scan.bare.length;
    const below: string[] = [];
    for (const e of scan.entries) {
      const dir = path.dirname(e);
      if (tops.has(dir) || uvMarker(e)) continue; // a root's own: above
      found++;
      below.push(e);
      const why = `repository below a root: ${dir}`;
      const g = guardName(dir, '.git', new Set(['.git']), `${why}: .git`);
      if (g) repos.gitEntry(g, why);
    }
    for (const b of scan.bare) if (writableAt(b)) repos.gitDirectory(b, `repository below a root: ${b} (bare)`);
    // For the walks of later plans. A root's own is found at its top whatever
    // the walk does; what the shared temporary directories hold comes and goes.
    const lasting = (p: string) => ![...tmpRoots].some((t) => isUnder(p, t));
    const keep = { entries: below.filter(lasting), bare: scan.bare.filter(lasting) };
    if (keep.entries.length || keep.bare.length) view.rememberRepositories?.(keep);
    repositoryScan = { budget: scan.budget, found, notScanned: scan.notScanned };
  }
  if (repos.finish()) walked = true;
  // A read-only carve-out inside a root (readOnly, rules) is pinned the same
  // way, and so could be moved away with its parent and its name made anew.
  for (const a of actions) if (a.kind === 'readonly') keepChain(a.path);

  // Guards (guards.ts): what decides a later sandbox, read-only wherever it is writable.
  const missing = new Set(missingProtected);
  const guardTrees: string[] = [];
  const guardFiles: string[] = [];
  // A guarded path inside a moved root's source is guarded at its place in the moved root too.
  const guardPaths: { p: string; why: string }[] = [];
  for (const g of policy.guards) {
    const p = canonicalPath(view, g.path, false);
    if (!p) continue;
    guardPaths.push({ p, why: g.why });
    for (const q of movedPaths(policy.movedRoots ?? [], p)) guardPaths.push({ p: q, why: `${g.why} (shown at ${q} by a moved root)` });
  }
  for (const g of guardPaths) {
    const p = g.p;
    let st: FsStat | undefined;
    try {
      st = view.lstat(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') continue;
    }
    // Wherever it lies, read-only or not: a second name of its files may lie in a
    // writable area. A symlink (pnpm's dependency links) for what it leads to.
    const end = st?.isSymbolicLink() ? realOrUndefined(view, p) : st ? p : undefined;
    let kind: FsStat | undefined = st;
    try {
      if (end !== p && end) kind = view.stat(end);
    } catch {
      kind = undefined; // gone or not searchable since realpath: nothing of it to guard
    }
    if (end && kind?.isDirectory()) guardTrees.push(end);
    else if (end && kind?.isFile()) guardFiles.push(end);
    if (!st) {
      if (writableAt(p) && !missing.has(p)) {
        missing.add(p);
        missingProtected.push(p);
        keepChain(p);
      }
      continue;
    }
    if (!writableAt(p)) continue;
    if (st.isSymbolicLink()) {
      protectPath(p, `${g.why} (symlink: the name is pinned)`);
      keepChain(p);
      let target: string | undefined;
      try {
        target = view.realpath(p);
      } catch {
        /* dangling */
      }
      if (target && writableAt(target)) {
        protectPath(target, `${g.why} (symlink target)`);
        keepChain(target);
      }
      continue;
    }
    protectPath(p, g.why);
    keepChain(p);
  }
  // Every other directory kept read-only in a writable area (a readOnly
  // carve-out, a protected name such as .vscode): a file in it may have a
  // second name there too, made before the sandbox. Init walks these only
  // when a file with more than one name is opened for writing.
  const trees = new Set(guardTrees);
  const inTree = (p: string) => {
    for (let d = p; ; d = path.dirname(d)) {
      if (trees.has(d)) return true;
      if (d === '/') return false;
    }
  };
  for (const a of actions) {
    if (a.kind !== 'readonly' || inTree(a.path)) continue;
    let st: FsStat | undefined;
    try {
      st = view.lstat(a.path);
    } catch {
      continue; // not searchable: the bind step fails on it anyway
    }
    if (st?.isDirectory()) {
      guardTrees.push(a.path);
      trees.add(a.path);
    }
  }

  // Shallow first: a deeper mount must land on top of a shallower one.
  const order = { group: 0, mask: 1, readonly: 2, reveal: 3 };
  byDepth(
    actions,
    (a) => a.path,
    (a, b) => order[a.kind] - order[b.kind],
  );
  for (const m of actions) {
    if (m.kind !== 'mask') continue;
    for (const a of actions) {
      if (a !== m && a.path !== m.path && isUnder(a.path, m.path)) {
        m.inner.push({
          rel: path.relative(m.path, a.path),
          dir: (() => {
            if (a.kind === 'mask' && a.data !== undefined) return false; // a data file: its mount point is a file
            try {
              return view.stat(a.path)?.isDirectory() ?? true;
            } catch {
              return true;
            }
          })(),
        });
      }
    }
  }
  // Fresh nodes go to the deepest tmpfs mask holding them, in their order.
  for (const n of policy.freshNodes ?? []) {
    let best: Extract<Action, { kind: 'mask' }> | undefined;
    for (const a of actions)
      if (
        a.kind === 'mask' &&
        a.type === 'tmpfs' &&
        isUnder(n.path, a.path) &&
        n.path !== a.path &&
        (!best || a.path.length > best.path.length)
      )
        best = a;
    if (!best) throw new Error(`layout: no fresh tmpfs holds ${n.path}`); // policy.ts checked it lies in one
    (best.made ??= []).push({ ...n, rel: path.relative(best.path, n.path) });
  }
  // No new repository anywhere in a writable area: a `.git` (a directory, or
  // a file that becomes a `gitdir:` pointer) and a HEAD (what makes any
  // directory a git directory, bare or not) cannot be made where none is.
  const newNames = git && writable.length > 0 ? ['.git', 'HEAD'] : [];
  const newFileAllow: string[] = [];
  if (newNames.length) {
    for (const cache of policy.gitMarkerDirs) {
      const c = canonicalPath(view, cache, true);
      if (c && writableAt(c)) for (let v = 0; v < 64; v++) newFileAllow.push(`${c}/sdists-v${v}/.git`);
    }
  }
  return {
    writable,
    ...(writableFiles.length ? { writableFiles } : {}),
    groups,
    actions,
    missingProtected: walked ? [...new Set(missingProtected)] : missingProtected,
    protectedChain: [...chain].sort(),
    newNames,
    newAllow: newNames.length ? [...new Set(repos.newAllow)] : [],
    gitDirs: newNames.length ? [...new Set(repos.gitDirs)] : [],
    newFileAllow,
    pinnedFiles: [...repos.pinnedFiles, ...guardFiles],
    guardTrees,
    ...(repositoryScan ? { repositoryScan } : {}),
  };
}
