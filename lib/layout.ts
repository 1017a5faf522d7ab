// Rules -> mount layout: which paths get a read-write bind, which are carved
// out read-only, masked, or pinned. Pure decisions; fs is only read (to find
// protected names and their types). plan.ts turns a Layout into steps.
import fs from 'fs';
import path from 'path';
import { MountEntry, isUnder, mountOf } from './mountinfo';
import type { ResolvedPolicy, Rule } from './policy';

/** Writable roots that live in one mount: they share one read-write bind of their deepest common ancestor. */
export interface RootGroup {
  ancestor: string;
  roots: string[];
  /** Directories between the ancestor and the roots, with the names on the way kept out of the sealing. */
  chain: { dir: string; keep: string[] }[];
}

export type Action =
  | { kind: 'group'; path: string; group: RootGroup }
  | { kind: 'readonly'; path: string; why: string } // bind read-only onto itself (also pins the name)
  | { kind: 'mask'; path: string; type: 'file' | 'dir' | 'tmpfs'; inner: { rel: string; dir: boolean }[] }
  | { kind: 'reveal'; path: string; writable: boolean }; // re-expose a path hidden by a mask

export interface Layout {
  /** Every path that gets Landlock write rights. */
  writable: string[];
  groups: RootGroup[];
  /** Mount actions in the order they must happen (shallow first). */
  actions: Action[];
  /** Protected names that do not exist yet: the supervisor refuses to create them (docs/supervisor.md). */
  missingProtected: string[];
}

const depth = (p: string) => (p === '/' ? 0 : p.split('/').length - 1);

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

/** Reads a `.git` entry: a repository is a directory or a `gitdir:` file; returns the paths to protect. */
function gitProtection(p: string, st: fs.Stats): string[] {
  if (st.isDirectory()) return [p];
  if (!st.isFile()) return [];
  let text = '';
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch {
    return [];
  }
  const m = /^gitdir:\s*(.+?)\s*$/m.exec(text);
  if (!text.startsWith('gitdir:') || !m) return []; // e.g. uv's empty marker file: not a repository
  const gitdir = path.resolve(path.dirname(p), m[1]);
  try {
    return [p, fs.realpathSync(gitdir)];
  } catch {
    return [p];
  }
}

/** `p` with the symlinks in its existing part resolved (its last component is not followed); undefined if not absolute. */
function canonical(p: string): string | undefined {
  if (!path.isAbsolute(p)) return undefined;
  const rest: string[] = [path.basename(p)];
  for (let dir = path.dirname(p); ; dir = path.dirname(dir)) {
    try {
      return path.join(fs.realpathSync(dir), ...rest);
    } catch {
      if (dir === '/') return undefined;
      rest.unshift(path.basename(dir));
    }
  }
}

/** `separateRoots`: one mount per root, as bubblewrap does (the mount-only level, without Landlock). */
export function computeLayout(policy: ResolvedPolicy, mounts: MountEntry[], opts: { separateRoots?: boolean } = {}): Layout {
  const rules: Rule[] = [...policy.rules];
  if (policy.tmp === 'private') rules.push({ path: '/tmp', access: 'none', from: 'tmp-private' });
  rules.sort((a, b) => depth(a.path) - depth(b.path) || (a.path < b.path ? -1 : 1));

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
  const tops: string[] = [];
  const actions: Action[] = [];
  const writable: string[] = [];
  const nested: string[] = []; // requested roots inside another root: no mount of their own, but their protected names count
  for (const r of rules) {
    const parent = regionOf(r.path);
    if (r.access === 'write') {
      if (parent === 'write') { // already writable, nothing in between
        if (r.from !== 'tmp') nested.push(r.path);
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
      if (parent === 'none') continue;
      const type = r.from === 'tmp-private' ? 'tmpfs' : fs.statSync(r.path).isDirectory() ? 'dir' : 'file'; // a socket is masked by an empty file
      actions.push({ kind: 'mask', path: r.path, type, inner: [] });
      region.set(r.path, 'none');
    }
  }
  if (policy.tmp === 'private') writable.push('/tmp');

  // /tmp and $TMPDIR get a mount of their own: tools cannot count on linking
  // from a temp dir anyway (it is often a tmpfs), and sharing an ancestor
  // with the project would usually mean sealing every entry of /.
  const tmpRoots = new Set(rules.filter((r) => r.from === 'tmp').map((r) => r.path));
  const groups = groupRoots(tops, mounts, (r) => !!opts.separateRoots || tmpRoots.has(r));
  for (const g of groups) actions.push({ kind: 'group', path: g.ancestor, group: g });

  // Protected names at the top of every writable root, and of $HOME when writable.
  const missingProtected: string[] = [];
  const bases = [...writable.filter((w) => w !== '/tmp'), ...nested];
  if (policy.home && regionOf(policy.home + '/x') === 'write' && !bases.includes(policy.home)) bases.push(policy.home);
  const protectedPaths = new Set(actions.filter((a) => a.kind !== 'group').map((a) => a.path));
  const protectPath = (p: string, why: string) => {
    if (protectedPaths.has(p)) return;
    protectedPaths.add(p);
    actions.push({ kind: 'readonly', path: p, why });
  };
  for (const base of bases) {
    // One readdir per root instead of an lstat per protected name (1000 roots x 15 names).
    let present: Set<string>;
    try { present = new Set(fs.readdirSync(base)); } catch { present = new Set(); }
    for (const name of policy.protect) {
      const p = `${base === '/' ? '' : base}/${name}`;
      const st = present.has(name.split('/')[0]) ? fs.lstatSync(p, { throwIfNoEntry: false }) : undefined;
      if (!st) {
        if (name !== '.git') missingProtected.push(p);
        continue;
      }
      if (st.isSymbolicLink()) {
        protectPath(p, `protect ${name} (symlink: the name is pinned)`);
        let target: string | undefined;
        try { target = fs.realpathSync(p); } catch { /* dangling: nothing behind it */ }
        if (target && regionOf(target + '/x') === 'write') {
          const tst = fs.statSync(target);
          for (const t of name === '.git' ? gitProtection(target, tst) : [target]) protectPath(t, `protect ${name} (symlink target)`);
        }
        continue;
      }
      for (const t of name === '.git' ? gitProtection(p, st) : [p]) protectPath(t, `protect ${name}`);
    }
  }

  // Guards (guards.ts): what decides a later sandbox, read-only wherever it is writable.
  const writableAt = (p: string) => regionOf(p + '/x') === 'write';
  const missing = new Set(missingProtected);
  for (const g of policy.guards) {
    const p = canonical(g.path);
    if (!p) continue;
    let st: fs.Stats | undefined;
    try { st = fs.lstatSync(p); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') continue; }
    if (!st) {
      if (writableAt(p) && !missing.has(p)) {
        missing.add(p);
        missingProtected.push(p);
      }
      continue;
    }
    if (!writableAt(p)) continue;
    if (st.isSymbolicLink()) {
      protectPath(p, `${g.why} (symlink: the name is pinned)`);
      let target: string | undefined;
      try { target = fs.realpathSync(p); } catch { /* dangling */ }
      if (target && writableAt(target)) protectPath(target, `${g.why} (symlink target)`);
      continue;
    }
    protectPath(p, g.why);
  }

  // Shallow first: a deeper mount must land on top of a shallower one.
  const order = { group: 0, mask: 1, readonly: 2, reveal: 3 };
  actions.sort((a, b) => depth(a.path) - depth(b.path) || order[a.kind] - order[b.kind]);
  for (const m of actions) {
    if (m.kind !== 'mask') continue;
    for (const a of actions) {
      if (a !== m && a.path !== m.path && isUnder(a.path, m.path)) {
        m.inner.push({ rel: path.relative(m.path, a.path), dir: (() => { try { return fs.statSync(a.path).isDirectory(); } catch { return true; } })() });
      }
    }
  }
  return { writable, groups, actions, missingProtected };
}
