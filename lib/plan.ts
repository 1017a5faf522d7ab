// Policy -> Plan. Every decision about namespaces, mounts and Landlock rights
// is made here; the helper (native/helper/) executes the steps in order and
// knows nothing else. `sbx-native exec --dry-run` prints the result.
import path from 'path';
import { CLONE, FS, MOUNT_ATTR, fsRightsForAbi } from './uapi';
import { MountEntry, mountOf } from './mountinfo';
import type { ResolvedPolicy } from './policy';

export interface Step {
  op: string;
  args: string[];
}

/** Writable roots that live in one mount: they share one read-write bind of their deepest common ancestor. */
export interface RootGroup {
  mountPoint: string;
  ancestor: string;
  roots: string[];
  /** Directories between the ancestor and the roots, with the names kept writable in each. */
  chain: { dir: string; keep: string[] }[];
}

export interface Plan {
  landlockAbi: number;
  groups: RootGroup[];
  steps: Step[];
}

export interface PlanInput {
  policy: ResolvedPolicy;
  file: string;
  argv: string[]; // argv[0] included
  env: string[]; // "K=V"
  cwd: string;
  uid: number;
  gid: number;
  landlockAbi: number;
  mounts: MountEntry[];
  /** Whether a path exists on this host (the kernel's optional /proc files). */
  exists: (p: string) => boolean;
}

const READ_ONLY = MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV;
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

function commonAncestor(paths: string[]): string {
  const split = paths.map((p) => p.split('/').filter(Boolean));
  const out: string[] = [];
  for (let i = 0; split.every((s) => i < s.length && s[i] === split[0][i]); i++) out.push(split[0][i]);
  return '/' + out.join('/');
}

export function groupRoots(roots: string[], mounts: MountEntry[]): RootGroup[] {
  const byMount = new Map<number, { mount: MountEntry; roots: string[] }>();
  for (const r of roots) {
    const m = mountOf(r, mounts);
    const g = byMount.get(m.id) ?? { mount: m, roots: [] };
    g.roots.push(r);
    byMount.set(m.id, g);
  }
  const groups: RootGroup[] = [];
  for (const { mount, roots: rs } of byMount.values()) {
    const ancestor = commonAncestor(rs);
    const keep = new Map<string, Set<string>>();
    for (const r of rs) {
      for (let child = r; child !== ancestor; child = path.dirname(child)) {
        const dir = path.dirname(child);
        if (!keep.has(dir)) keep.set(dir, new Set());
        keep.get(dir)!.add(path.basename(child));
      }
    }
    const chain = [...keep].map(([dir, names]) => ({ dir, keep: [...names].sort() }));
    chain.sort((a, b) => a.dir.length - b.dir.length);
    groups.push({ mountPoint: mount.mountPoint, ancestor, roots: rs, chain });
  }
  // Shallow ancestors first: a deeper group's bind must land on top of them.
  return groups.sort((a, b) => a.ancestor.split('/').length - b.ancestor.split('/').length);
}

export function buildPlan(input: PlanInput): Plan {
  const { policy, landlockAbi: abi } = input;
  const steps: Step[] = [];
  const add = (op: string, ...args: (string | number | bigint)[]) => steps.push({ op, args: args.map(String) });
  let slots = 0;
  const groups = groupRoots(policy.writableRoots, input.mounts);

  let flags = CLONE.NEWUSER | CLONE.NEWNS | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWPID;
  if (!policy.network) flags |= CLONE.NEWNET;
  add('unshare', flags);
  add('map_ids', input.uid, input.uid, input.gid, input.gid);
  if (!policy.network) add('loopback_up');
  add('make_rslave');

  // Read-write copies and device nodes are cloned before the read-only pass
  // so they keep their original flags.
  const groupSlot = groups.map((g) => (add('clone_tree', g.ancestor), slots++));
  const devSlot = DEVICES.map((d) => (add('clone_tree', `/dev/${d}`), slots++));
  add('setattr', '/', READ_ONLY, 1);
  groups.forEach((g, i) => {
    add('setattr_slot', groupSlot[i], MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV);
    add('move_slot', groupSlot[i], g.ancestor);
    add('ro_below', g.ancestor);
    for (const c of g.chain) add('seal', c.dir, ...c.keep);
  });

  add('tmpfs', '/dev', 'mode=0755,size=64k');
  DEVICES.forEach((d, i) => {
    add('touch', `/dev/${d}`);
    add('move_slot', devSlot[i], `/dev/${d}`);
  });
  add('mkdir', '/dev/pts', 0o755);
  add('devpts', '/dev/pts');
  add('symlink', 'pts/ptmx', '/dev/ptmx');
  add('mkdir', '/dev/shm', 0o1777);
  add('tmpfs', '/dev/shm', 'mode=01777');
  for (const [name, target] of [['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2']]) {
    add('symlink', target, `/dev/${name}`);
  }
  add('setattr', '/dev', READ_ONLY, 0);

  add('pidns_fork');
  add('proc', '/proc');
  for (const p of ['/proc/sys', '/proc/sysrq-trigger']) if (input.exists(p)) add('bind', p, p, READ_ONLY);
  add('make_rprivate');

  add('command_fork');
  // A new session: no controlling terminal, so TIOCSTI on an inherited tty fails.
  add('setsid');
  add('chdir', input.cwd);

  const all = fsRightsForAbi(abi);
  const read = FS.READ_FILE | FS.READ_DIR | FS.EXECUTE;
  const devRights = (FS.READ_FILE | FS.WRITE_FILE | FS.READ_DIR | FS.TRUNCATE | FS.IOCTL_DEV) & all;
  add('landlock_create', all, 0, 0);
  add('landlock_path', '/', read);
  add('landlock_path', '/dev', devRights);
  add('landlock_path', '/dev/shm', all);
  for (const r of policy.writableRoots) add('landlock_path', r, all);
  add('landlock_stdio', (FS.READ_FILE | FS.WRITE_FILE | FS.TRUNCATE | FS.IOCTL_DEV) & all);
  add('no_new_privs');
  add('landlock_restrict');
  add('drop_caps');
  for (const e of input.env) add('env', e);
  add('exec', input.file, ...input.argv);
  return { landlockAbi: abi, groups, steps };
}

/** The helper's wire format: NUL-terminated strings: op, argument count, arguments. */
export function encodePlan(plan: Plan): Buffer {
  const parts: string[] = [];
  for (const s of plan.steps) parts.push(s.op, String(s.args.length), ...s.args);
  return Buffer.from(parts.map((p) => p + '\0').join(''), 'utf8');
}
