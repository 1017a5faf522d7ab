// explain(path, access): which rule of the policy decides whether a command
// may read or write a path, and the errno it would get. The kernel refuses
// without telling anyone (EROFS from a read-only mount, EACCES from
// Landlock); this answers from the same layout the sandbox is built from.
import path from 'path';
import { canonicalPath, realView } from './fsview';
import { prepare, SpawnOptions } from './spawn';

export interface Explanation {
  /** The path as the sandbox sees it: absolute, symlinks in its existing part resolved. */
  path: string;
  access: 'read' | 'write';
  allowed: boolean;
  /** What the command gets when it is not allowed. */
  errno?: 'EROFS' | 'EACCES';
  /** Who refuses or allows it: a read-only mount, Landlock, the supervisor, or the mode. */
  by: 'mount' | 'landlock' | 'supervisor' | 'mode';
  /** The rule, in the policy's words. */
  rule: string;
}

const under = (dir: string, p: string) => p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);

/** Which rule decides `access` to `target` for a command spawned with `options` (same policy, cwd and env). */
export function explain(target: string, access: 'read' | 'write', options: SpawnOptions = {}): Explanation {
  if (access !== 'read' && access !== 'write')
    throw new TypeError(`explain(): access must be 'read' or 'write', got ${JSON.stringify(access)}`);
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const abs = path.resolve(cwd, target);
  const p = canonicalPath(realView, abs, true) ?? abs;
  const { policy, plan } = prepare('/bin/true', [], options);
  const out = (allowed: boolean, by: Explanation['by'], rule: string, errno?: Explanation['errno']): Explanation => ({
    path: p,
    access,
    allowed,
    by,
    rule,
    ...(allowed ? {} : { errno: errno ?? 'EROFS' }),
  });
  const layout = plan.layout;
  if (policy.mode === 'full' || !layout) return out(true, 'mode', `mode ${policy.mode}: no file-system confinement`);

  // The deepest mount action over the path decides first: masks, read-only binds, reveals.
  let decisive: (typeof layout.actions)[number] | undefined;
  for (const a of layout.actions) {
    if (a.kind !== 'group' && under(a.path, p) && (!decisive || a.path.length > decisive.path.length)) decisive = a;
  }
  if (decisive?.kind === 'mask') {
    const rule = policy.rules.find((r) => r.path === decisive!.path);
    return out(
      false,
      'mount',
      `hidden: ${decisive.path} looks empty${rule ? ` (${rule.from})` : ''}`,
      access === 'read' ? 'EACCES' : 'EROFS',
    );
  }
  if (access === 'read') return out(true, 'mount', 'everything not hidden is readable');
  if (decisive?.kind === 'readonly') return out(false, 'mount', `read-only: ${decisive.path} (${decisive.why})`);
  if (decisive?.kind === 'reveal' && !decisive.writable)
    return out(false, 'mount', `read-only again under a hidden path: ${decisive.path}`);

  const missing = layout.missingProtected.find((m) => under(m, p));
  if (missing) return out(false, 'supervisor', `protected path ${missing} (it does not exist; creating it is refused)`);

  let root: string | undefined;
  for (const w of layout.writable) if (under(w, p) && (!root || w.length > root.length)) root = w;
  // The first missing name on the way from the root: a new .git or HEAD there would start a new repository.
  const exists = (x: string) => {
    try {
      return !!realView.lstat(x);
    } catch {
      return false;
    }
  };
  for (let q = p; root && q !== root && layout.newNames.length; q = path.dirname(q)) {
    if (!layout.newNames.includes(path.basename(q)) || !exists(path.dirname(q)) || exists(q)) continue;
    if (layout.newAllow.includes(q) || (q === p && layout.newFileAllow.includes(q))) continue;
    return out(false, 'supervisor', `${q} would start a new git repository (refused unless allowGitWrites)`);
  }
  if (root) {
    const rule = policy.rules.find((r) => r.path === root && r.access === 'write');
    const why = rule ? rule.from : policy.writableRoots.includes(root) ? `writable root ${root}` : `writable: ${root}`;
    const chain = layout.protectedChain.includes(p)
      ? '; renaming it away, or anything onto it, is refused (it leads to a protected path)'
      : '';
    return out(true, 'landlock', `${why}${chain}`);
  }
  // Inside a group's shared mount: what already exists beside the way to the
  // roots is sealed (bound read-only onto itself), a new name there is
  // refused by Landlock. Elsewhere the mount is read-only.
  const group = layout.groups.find((g) => under(g.ancestor, p));
  if (group) {
    const onTheWay = new Set([group.ancestor, ...group.chain.map((c) => c.dir)]);
    let dir = group.ancestor;
    for (const c of path.relative(group.ancestor, p).split('/')) {
      const entry = path.join(dir, c);
      if (onTheWay.has(entry)) {
        dir = entry;
        continue;
      }
      if (realView.lstat(entry))
        return out(false, 'mount', `read-only: ${entry} lies beside the way to the writable roots under ${group.ancestor} (sealed)`);
      break;
    }
    return out(false, 'landlock', `outside every writable root (${group.roots.join(', ')} share the mount at ${group.ancestor})`, 'EACCES');
  }
  return out(false, 'mount', 'outside every writable root: the file system is read-only');
}
