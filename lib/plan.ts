// Policy -> Plan. Every decision about namespaces, mounts and Landlock rights
// is made here; the helper (native/helper/) executes the steps in order and
// knows nothing else. `sbx-native exec --dry-run` prints the result.
import os from 'os';
import path from 'path';
import { FS, MOUNT_ATTR, MS, NET, SCOPE, fsRightsForAbi } from './uapi';
import { FsView, realView } from './fsview';
import { PolicyError, ResolvedPolicy } from './policy';
import { proxyEnv, proxyPlan } from './proxy/plan';
import { Action, computeLayout, Layout } from './layout';
import { gitModelArgs } from './repository';
import { isUnder, MountEntry } from './mountinfo';
import type { Level } from './host';
import { hostSeccompArch, seccompStepArg, supervisedSyscalls, Supervision } from './seccomp';
import { STEP_ARITY, StepOp } from './gen/plan-steps';
import { KernelFeatures, kernelFeatures, parseRelease, supervisorFallbacks } from './features';
import { hostPath, MovedRoot } from './moved-roots';
import { MARKER, MARKER_PREFIX } from './marker';
import { namespaceSteps } from './namespace-steps';

export interface Step {
  op: StepOp;
  args: string[];
}

export interface Plan {
  level: Level;
  landlockAbi: number;
  layout: Layout | undefined; // undefined in mode 'full'
  steps: Step[];
  /** The older kernel interfaces this plan uses and what they give up (lib/features.ts); empty on a current kernel. */
  fallbacks: string[];
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
  /** The kernel's major and minor version: which interfaces the helper uses (lib/features.ts). Default: this host's. */
  kernel?: [number, number];
  mounts: MountEntry[];
  /** Whether a path exists on this host (the kernel's optional /proc files). */
  exists: (p: string) => boolean;
  /** "dev:ino" of a path (not following a final symlink), or undefined if it is gone. */
  identity?: (p: string) => string | undefined;
  /** How much this host can enforce (host.ts); default 'full'. */
  level?: Level;
  /** Give the command the terminal on stdin as its controlling terminal and foreground (job control). */
  interactive?: boolean;
  /** Stops of the command are reported to the caller (events pipe) instead of undone: see SpawnOptions.jobControl. */
  jobControl?: boolean;
  /**
   * Where the layout reads the host, and the architecture (default: the real
   * host). `mounts`, `exists` and `identity` should be this view's (prepare() does so).
   */
  view?: FsView;
}

const READ_ONLY = MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV;
// From this many pins in one group on, they clone from a copy of its mount (addFilesystemSteps).
const PIN_FROM_COPY = 16;
// linux/capability.h
const CAP_SYS_PTRACE = 19;
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

export function buildPlan(input: PlanInput): Plan {
  const { policy, landlockAbi: abi } = input;
  const steps: Step[] = [];
  const add = (op: StepOp, ...args: (string | number | bigint)[]) => steps.push({ op, args: args.map(String) });
  let slots = 0;
  const level = input.level ?? 'full';
  if (level === 'none') throw new Error('buildPlan: nothing can be enforced at level none');
  const namespaces = level !== 'landlock-only';
  const useLandlock = level !== 'mount-only' && policy.mode !== 'full';
  const view = input.view ?? realView;
  const features = kernelFeatures(input.kernel ?? parseRelease(os.release()));
  const layout = policy.mode === 'full' ? undefined : computeLayout(policy, input.mounts, { separateRoots: level === 'mount-only', view });

  // Domain lists: a proxy outside the new network namespace is the only way out (lib/proxy/).
  if (policy.domains && !namespaces) {
    throw new PolicyError(
      'network',
      policy.domains,
      'domain lists need a network namespace of their own, and this host gives no user namespaces (level landlock-only); use network: false or true',
    );
  }
  const proxy = policy.domains && namespaces ? proxyPlan(policy.domains, abi, useLandlock) : undefined;
  // Asked twice for the read-only paths (expect_ids, protect-inode): one lstat each.
  const ids = new Map<string, string | undefined>();
  const identity = input.identity && ((p: string) => (ids.has(p) ? ids.get(p) : ids.set(p, input.identity!(p)).get(p)));
  const hidden =
    layout && identity && namespaces
      ? hiddenGuards(layout, identity, policy.movedRoots ?? [])
      : { trees: new Map<string, string[]>(), inodes: [] };
  // Decided once, before the layout's steps: with creation supervised, a pinned path gone by set-up (a repository
  // a parallel test removed) is refused making, as a protected path missing now is, instead of failing the run.
  const sup = supervision(layout, namespaces, hidden.trees.size + hidden.inodes.length);
  if (namespaces) {
    if (proxy) add('proxy_fork', ...proxy.fork);
    steps.push(...namespaceSteps(policy.network, input.uid, input.gid));
    if (proxy) add('proxy_listen', ...proxy.listen);
    add('make_rslave');
    if (layout && identity) add('expect_ids', ...identities(layout, policy.tmp === 'private', identity, policy.movedRoots ?? []));
    if (layout) addFilesystemSteps(layout, input.mounts, add, () => slots++, !!input.interactive, hidden.trees, sup.create);
    // Read-only views clone what the sandbox shows at their source, so they come after the whole layout (lib/views.ts).
    if (layout) for (const v of policy.views ?? []) add('bind', v.src, v.dest, READ_ONLY);
    if (input.interactive) add('tty_save');
    if (proxy) add('proxy_ready', ...proxy.ready);
    add('pidns_fork', ...(input.interactive ? ['keep-session'] : []));
    add('proc', '/proc', MS.NOSUID | MS.NODEV | MS.NOEXEC);
    if (layout) for (const p of ['/proc/sys', '/proc/sysrq-trigger']) if (input.exists(p)) add('bind', p, p, READ_ONLY);
    add('make_rprivate');
  }

  if (!namespaces && input.interactive) add('tty_save');
  const confinement = layout && useLandlock ? layout : undefined;
  const supervising = sup.metadata || sup.create || !!sup.rename || !!sup.sockets;
  // With namespaces, init is confined like the command (Landlock, no
  // capabilities) before it forks it: it is the supervisor that performs
  // syscalls for the command (docs/supervisor.md), and must not be able to do
  // more than the command could. It keeps CAP_SYS_PTRACE only, to read the
  // memory and fds of callers that made themselves non-dumpable; that also
  // keeps the command from writing init's memory through /proc/1/mem.
  if (namespaces) {
    addConfinement(input, confinement, namespaces, add);
    add('drop_caps', `keep=${CAP_SYS_PTRACE}`);
    if (supervising)
      steps.push({
        op: 'supervise',
        args: supervisorArgs(layout, policy, sup, view.arch(), features, identity, hidden.inodes, hidden.trees.size > 0),
      }); // not spread: may be 100k arguments
  }
  add('command_fork', ...(input.jobControl ? ['forward-stops'] : []));
  // Non-interactive: a new session without a controlling terminal, like
  // bwrap --new-session. Interactive: the terminal's foreground group, for
  // job control. TIOCSTI and TIOCLINUX are refused by the seccomp filter either way.
  add(input.interactive ? 'tty_foreground' : 'setsid');
  add('chdir', input.cwd);
  if (namespaces) {
    add('drop_caps', 'keep-bounding'); // the bounding set is empty already, and CAP_SETPCAP is gone
  } else {
    addConfinement(input, confinement, namespaces, add);
    // Without a user namespace only a caller holding CAP_SETPCAP can clear its
    // bounding set (root in a nested sandbox or a container may not hold it);
    // no_new_privs still stops exec from gaining capabilities either way.
    add('drop_caps', ...(input.uid === 0 && canSetpcap(view) ? [] : ['keep-bounding']));
  }
  const filter = seccompStepArg(view.arch(), sup);
  if (supervising)
    add('seccomp', filter, features.killableRecv ? 'listen-killable' : 'listen'); // last before exec: lib/seccomp.ts
  else add('seccomp', filter);
  for (const s of commandSteps(policy, input.env, input.file, input.argv)) steps.push(s);
  return { level, landlockAbi: abi, layout, steps, fallbacks: supervising ? supervisorFallbacks(features) : [] };
}

/** The plan's last steps, the command's own: its environment and exec (a pooled sandbox, lib/pool.ts, gets a new command's this way). */
export function commandSteps(policy: ResolvedPolicy, env: readonly string[], file: string, argv: readonly string[]): Step[] {
  const steps: Step[] = [];
  // Domain lists are refused without namespaces (policy.ts), so a plan with them always has the proxy.
  for (const e of policy.domains ? proxyEnv([...env]) : env) {
    if (e.startsWith(MARKER_PREFIX)) continue; // the marker below is ours, not the caller's
    steps.push({ op: 'env', args: [policy.tmp === 'private' && /^TMPDIR=/.test(e) && !/^TMPDIR=\/tmp(\/|$)/.test(e) ? 'TMPDIR=/tmp' : e] });
  }
  if (!policy.noMarker) steps.push({ op: 'env', args: [MARKER] });
  steps.push({ op: 'exec', args: [file, ...argv] });
  return steps;
}

const CAP_SETPCAP = 8;

/** Whether this process holds CAP_SETPCAP (what clearing the bounding set needs), from /proc/self/status. */
function canSetpcap(view: FsView): boolean {
  let status: string;
  try {
    status = view.readFile('/proc/self/status');
  } catch {
    return false;
  }
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return !!eff && (BigInt(`0x${eff[1]}`) & (1n << BigInt(CAP_SETPCAP))) !== 0n;
}

/** no_new_privs and the Landlock layer (when `layout` is given). */
function addConfinement(input: PlanInput, layout: Layout | undefined, namespaces: boolean, add: Add): void {
  const { policy, landlockAbi: abi } = input;
  const all = fsRightsForAbi(abi);
  const read = FS.READ_FILE | FS.READ_DIR | FS.EXECUTE;
  const devRights = (FS.READ_FILE | FS.WRITE_FILE | FS.READ_DIR | FS.TRUNCATE | FS.IOCTL_DEV) & all;
  add('no_new_privs');
  if (!layout) return;
  // Without namespaces Landlock is the only barrier: TCP is refused when
  // networking is off (ABI 4). Signals and abstract unix sockets stay inside
  // the sandbox (ABI 6), also with network: true, where the network
  // namespace would otherwise share the host's abstract names (X11, D-Bus).
  const net = !namespaces && !policy.network && abi >= 4 ? NET.BIND_TCP | NET.CONNECT_TCP : 0n;
  const scoped = abi >= 6 ? SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL : 0n;
  add('landlock_create', all, net, scoped);
  // ABI 9: RESOLVE_UNIX is the unix-socket rule in the kernel: a socket made
  // in this domain is always reachable, otherwise only one at or below an
  // allowed path (lib/unix-sockets.ts). Not granted on the roots: /tmp is one.
  const resolveUnix = FS.RESOLVE_UNIX & all;
  add('landlock_path', '/', read);
  if (namespaces) {
    add('landlock_path', '/dev', devRights);
    // The sandbox's own /dev/shm is writable unless a writable root lies in
    // it: a Landlock rule covers every mount below its path, so the rule for
    // /dev/shm would cover the directories above the roots too.
    if (!layout.groups.some((g) => isUnder(g.ancestor, '/dev/shm'))) add('landlock_path', '/dev/shm', all);
  } else {
    // The host's /dev: only the harmless devices, never disks.
    for (const d of DEVICES) if (input.exists(`/dev/${d}`)) add('landlock_path', `/dev/${d}`, devRights & ~FS.READ_DIR);
  }
  for (const w of layout.writable) add('landlock_path', w, all & ~resolveUnix);
  // A writable data file: a file's rights only (a directory's would be EINVAL on a file).
  for (const f of layout.writableFiles ?? []) add('landlock_path', f, (FS.READ_FILE | FS.WRITE_FILE | FS.TRUNCATE) & all);
  if (resolveUnix) for (const u of policy.allowUnixSockets) if (input.exists(u)) add('landlock_path', u, resolveUnix);
  add('landlock_stdio', (FS.READ_FILE | FS.WRITE_FILE | FS.TRUNCATE | FS.IOCTL_DEV) & all);
  add('landlock_restrict');
}

/**
 * What init must check for the command (docs/supervisor.md). Metadata: when a
 * writable group shares an ancestor with directories outside its roots (they
 * sit in a read-write mount). Creation: when a protected name does not exist
 * yet, or no new repository may be made (layout.newNames). Renames only: when directories lead to protected paths that all exist
 * (then nothing can be created onto them, but they can be moved away).
 * Creation and writes also wherever a path is pinned read-only. Only
 * with namespaces (init is then the command's confined peer).
 */
export function supervision(layout: Layout | undefined, namespaces: boolean, hidden = 0): Supervision {
  // The unix-socket rule holds wherever init is ours, in every mode (lib/unix-sockets.ts).
  if (!namespaces) return { metadata: false, create: false, rename: false, sockets: false, writes: false };
  if (!layout) return { metadata: false, create: false, rename: false, sockets: true, writes: false };
  // A pin the host detaches while the command runs (an editor's save) is guarded by init
  // (native/helper/supervisor/pins.cc): only for the calls it sees, so every pin brings them all.
  const pins = layout.actions.some((a) => a.kind === 'readonly');
  const create = layout.missingProtected.length > 0 || layout.newNames.length > 0 || pins;
  return {
    metadata: layout.groups.some((g) => g.chain.length > 0),
    create,
    rename: create || layout.protectedChain.length > 0,
    sockets: true,
    // The repository model in every git directory, found by the layout or not
    // (git-control); and wherever the command can write, a second name of a
    // protected, guarded or hidden file (protect-inode, protect-tree, hold_tree).
    writes:
      layout.newNames.length > 0 ||
      pins ||
      (layout.groups.length > 0 && (layout.guardTrees.length > 0 || layout.pinnedFiles.length > 0)) ||
      hidden > 0,
  };
}

function supervisorArgs(
  layout: Layout | undefined,
  policy: ResolvedPolicy,
  sup: Supervision,
  arch: string,
  features: KernelFeatures,
  identity: ((p: string) => string | undefined) | undefined,
  hiddenInodes: string[],
  hiddenTrees: boolean,
): string[] {
  const out = supervisedSyscalls(hostSeccompArch(arch), sup);
  if (!features.fchmodat2) out.push('chmod=proc-link');
  if (!features.syncWakeUp) out.push('sync-wake=off');
  if (!features.threadPidfd) out.push('fscache=off');
  if (sup.metadata) {
    for (const g of layout!.groups) if (g.chain.length > 0) out.push(`meta-deny=${g.ancestor}`);
    for (const w of [...layout!.writable, ...(layout!.writableFiles ?? [])]) out.push(`meta-allow=${w}`);
  }
  if (sup.create) for (const p of layout!.missingProtected) out.push(`protect=${p}`);
  if (sup.create) {
    for (const n of layout!.newNames) out.push(`new-name=${n}`);
    for (const p of layout!.newAllow) out.push(`new-allow=${p}`);
    for (const p of layout!.newFileAllow) out.push(`new-file-allow=${p}`);
  }
  if (sup.writes) {
    if (layout!.newNames.length > 0) out.push(...gitModelArgs(), ...layout!.gitDirs.map((g) => `git-state-at=${g}`));
    for (const t of layout!.guardTrees) out.push(`protect-tree=${t}`);
    // Hidden directories (hold_tree) may be a whole home: init reads this many of their entries at most.
    if (hiddenTrees) out.push(`held-budget=${HELD_BUDGET}`);
    // A protected file's inode: a hard link to it made before the sandbox is refused for writing too.
    const files = [...layout!.actions.filter((a) => a.kind === 'readonly').map((a) => a.path), ...layout!.pinnedFiles];
    const ids = new Set<string>();
    for (const p of identity ? files : []) {
      const id = identity!(p);
      if (id) ids.add(id);
    }
    for (const id of hiddenInodes) ids.add(id);
    for (const id of ids) out.push(`protect-inode=${id}`);
  }
  if (sup.rename) for (const d of layout!.protectedChain) out.push(`protect-dir=${d}`);
  if (sup.sockets) for (const u of policy.allowUnixSockets) out.push(`unix-allow=${u}`);
  return out;
}

/** The helper's wire format: NUL-terminated strings: op, argument count, arguments. */
export function encodePlan(plan: Plan): Buffer {
  const parts: string[] = [];
  for (const s of plan.steps) {
    const arity = Object.prototype.hasOwnProperty.call(STEP_ARITY, s.op) ? STEP_ARITY[s.op] : undefined;
    if (!arity) throw new TypeError(`unknown plan step: ${JSON.stringify(s.op)}`);
    if (s.args.length < arity[0] || s.args.length > arity[1]) throw new TypeError(`${s.op}: wrong number of arguments (${s.args.length})`);
    parts.push(s.op, String(s.args.length));
    for (const a of s.args) parts.push(a); // no spread: a step may have 100k arguments
  }
  // The last line of defence against forged steps: callers validate their input already.
  for (const p of parts) if (p.includes('\0')) throw new TypeError(`plan field contains a NUL byte: ${JSON.stringify(p)}`);
  return Buffer.from(parts.map((p) => p + '\0').join(''), 'utf8');
}

type Add = (op: StepOp, ...args: (string | number | bigint)[]) => void;

/**
 * The inodes the helper must find at the paths it grants or protects (pairs:
 * path, "dev:ino"). A path swapped for a symlink or another directory after
 * planning then fails the setup instead of moving rights or protection.
 */
function identities(
  layout: Layout,
  privateTmp: boolean,
  identity: (p: string) => string | undefined,
  moved: readonly MovedRoot[],
): string[] {
  const paths = new Set<string>();
  for (const a of layout.actions) {
    if (a.kind === 'mask' && a.fresh) continue; // in a new tmpfs: the host's inode at that path is not the sandbox's
    paths.add(a.path);
    if (a.kind === 'group') for (const c of a.group.chain) paths.add(c.dir);
  }
  for (const w of layout.writable) if (!(privateTmp && w === '/tmp')) paths.add(w); // a private /tmp is a new tmpfs
  // Checked before the layout exists: a path in a moved root is checked where the host holds it.
  const out: string[] = [];
  for (const p of paths) {
    const id = identity(p);
    if (id) out.push(hostPath(moved, p), id);
  }
  return out;
}

/** Entries of all hidden directories together that init reads at most; the rest counts as unseen (refused). */
export const HELD_BUDGET = 200_000;

/**
 * Hidden (deny-read) files and directories, when something is writable: a
 * second name in a writable area, made before the sandbox, would let their
 * files be written past the mask. A hidden file's inode is guarded like a
 * protected file's (free, and its device may not be its directory's: a
 * non-directory on overlayfs shows the lower filesystem's). A hidden
 * directory on a writable area's filesystem is held by init before its mask
 * covers it and walked like a guarded tree, but for what is writable again
 * below it as the host holds it (its value: a writable path shown again
 * there, a moved root's source); on another filesystem no second name can be
 * in reach, and it is not walked.
 */
export function hiddenGuards(
  layout: Layout,
  identity: (p: string) => string | undefined,
  moved: readonly MovedRoot[],
): { trees: Map<string, string[]>; inodes: string[] } {
  const trees = new Map<string, string[]>();
  const inodes: string[] = [];
  const writable = [...layout.writable, ...(layout.writableFiles ?? [])];
  if (writable.length === 0) return { trees, inodes };
  const devOf = (id: string | undefined) => id?.split(':')[0] ?? '';
  const devs = new Set(writable.map((w) => devOf(identity(hostPath(moved, w)))).filter((d) => d !== ''));
  const open = [
    ...layout.actions.flatMap((a) => (a.kind === 'reveal' && a.writable ? [a.path] : [])),
    ...layout.groups.flatMap((g) => (g.source ? [g.source] : [])),
  ];
  for (const a of layout.actions) {
    if (a.kind !== 'mask' || a.type === 'tmpfs' || a.data !== undefined || a.fresh) continue;
    const id = identity(a.path);
    if (!id) continue;
    if (a.type === 'file') inodes.push(id);
    else if (devs.has(devOf(id)))
      trees.set(
        a.path,
        open.filter((w) => w !== a.path && isUnder(w, a.path)),
      );
  }
  return { trees, inodes };
}

/** The names in DIR that are mount points of their own. */
function mountedEntries(mounts: MountEntry[], dir: string): string[] {
  const prefix = dir === '/' ? '/' : `${dir}/`;
  const names = new Set<string>();
  for (const m of mounts) {
    if (m.mountPoint.startsWith(prefix) && m.mountPoint.length > prefix.length && !m.mountPoint.slice(prefix.length).includes('/')) {
      names.add(m.mountPoint.slice(prefix.length));
    }
  }
  return [...names].sort();
}

/** The read-only filesystem with its writable roots, carve-outs and masks, and a minimal /dev. */
function addFilesystemSteps(
  layout: Layout,
  mounts: MountEntry[],
  add: Add,
  nextSlot: () => number,
  terminal: boolean,
  held: Map<string, string[]>,
  goneOk: boolean,
): void {
  // Read-write copies, revealed paths and device nodes are cloned before the
  // read-only pass so they keep their original flags.
  const slot = new Map<string, number>();
  for (const a of layout.actions) {
    if (a.kind === 'group' || a.kind === 'reveal') {
      const n = nextSlot();
      add('clone_tree', n, a.kind === 'group' ? (a.group.source ?? a.path) : a.path); // a moved root: its source's tree
      slot.set(a.path, n);
    }
  }
  const devSlot = DEVICES.map((d) => {
    const n = nextSlot();
    add('clone_tree', n, `/dev/${d}`);
    return n;
  });
  // Many pins in one group clone from a copy of its mount taken after the
  // group is in place (pin_from): cloning from the mount itself scans every
  // pin already attached to it, quadratic in the number of carve-outs.
  const groups = layout.actions.filter((a): a is Extract<Action, { kind: 'group' }> => a.kind === 'group');
  const groupOf = (p: string) =>
    groups.reduce<string | undefined>(
      (best, g) => (isUnder(p, g.path) && (!best || g.path.length > best.length) ? g.path : best),
      undefined,
    );
  const pinsIn = new Map<string, number>();
  for (const a of layout.actions) {
    const g = a.kind === 'readonly' ? groupOf(a.path) : undefined;
    if (g) pinsIn.set(g, (pinsIn.get(g) ?? 0) + 1);
  }
  const pinSource = new Map<string, number>(); // group ancestor -> slot of its copy
  // An interactive command's terminal keeps its name inside (only that one node).
  if (terminal) add('tty_clone');
  add('setattr', '/', READ_ONLY, 1);
  // Empty files and directories for masks are made in a scratch tmpfs,
  // unmounted when the pass is done: nothing on the host. The host pass
  // builds them on /dev, which the sandbox's own /dev covers later; it starts
  // at the first mask, after any sealing of / that would cover it. Paths in
  // /dev/shm (writable roots there) are placed in the sandbox's own /dev,
  // after it is built, with their scratch on /proc (mounted afresh later).
  const place = (actions: Action[], scratchDir: string) => {
    let masks = false;
    for (const a of actions) {
      if (a.kind === 'mask' && a.type !== 'tmpfs' && !masks) {
        add('scratch_begin', scratchDir, MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=0755,size=1m');
        masks = true;
      }
      if (a.kind === 'group') {
        add('setattr_slot', slot.get(a.path)!, MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV);
        add('move_slot', slot.get(a.path)!, a.path);
        add('ro_below', a.path);
        // An entry that is a mount point of its own was made read-only by
        // ro_below; some (nsfs) cannot be cloned, and need no bind of their own.
        for (const c of a.group.chain) {
          const mounted = mountedEntries(mounts, c.dir).filter((n) => !c.keep.includes(n));
          add('seal', c.dir, c.keep.length, ...c.keep, ...mounted);
        }
        if ((pinsIn.get(a.path) ?? 0) >= PIN_FROM_COPY) {
          const n = nextSlot();
          add('clone_tree', n, a.path);
          // Read-only once here: each pin is a clone of it and keeps its flags.
          add('setattr_slot', n, READ_ONLY);
          pinSource.set(a.path, n);
        }
      } else if (a.kind === 'readonly') {
        const g = groupOf(a.path);
        const from = g === undefined ? undefined : pinSource.get(g);
        // A file or directory put at the name since planning (a rename by git or an editor) is pinned instead;
        // gone, it is refused making where init supervises creation (native/helper/ops_mount.cc).
        const found = goneOk ? ['gone-ok', 'replaced-ok'] : ['replaced-ok'];
        if (from !== undefined && a.path !== g) add('pin_from', from, path.relative(g!, a.path), a.path, ...found);
        else add('pin', a.path, ...found);
      } else if (a.kind === 'mask' && a.data !== undefined) {
        add('data_file', a.path, a.writable ? MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV : READ_ONLY, a.mode ?? 0o600, a.data);
      } else if (a.kind === 'mask') {
        // A tmpfs mask is writable scratch of the layout's mode (a private /tmp: 1777); a file or directory mask is an empty read-only node.
        const [flags, mode] =
          a.type === 'tmpfs'
            ? [MS.NOSUID | MS.NODEV, a.mode ?? 0o1777]
            : [READ_ONLY | MOUNT_ATTR.NOEXEC, a.type === 'file' ? 0o444 : 0o755];
        const skip = held.get(a.path);
        if (skip) add('hold_tree', a.path, ...skip);
        add('mask', a.path, a.type, flags, mode, a.size ?? 0, ...a.inner.map((i) => `${i.dir ? 'd' : 'f'}:${i.rel}`));
        for (const n of a.made ?? [])
          add(
            'fresh_node',
            a.path,
            n.rel,
            n.kind,
            n.mode ?? (n.kind === 'file' ? 0o666 : 0o755),
            n.kind === 'file' ? (n.data ?? '') : (n.target ?? ''),
          );
      } else {
        add('setattr_slot', slot.get(a.path)!, a.writable ? MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV : READ_ONLY);
        add('move_slot', slot.get(a.path)!, a.path);
      }
    }
    if (masks) add('scratch_end');
  };
  const inDevShm = (a: Action) => isUnder(a.path, '/dev/shm');
  place(
    layout.actions.filter((a) => !inDevShm(a)),
    '/dev',
  );
  const closeCopies = (shm: boolean) => {
    for (const [g, n] of pinSource) if (isUnder(g, '/dev/shm') === shm) add('close_slot', n);
  };
  closeCopies(false);
  add('tmpfs', '/dev', MS.NOSUID | MS.NODEV, 'mode=0755,size=64k');
  DEVICES.forEach((d, i) => {
    add('touch', `/dev/${d}`, 0o644);
    add('move_slot', devSlot[i], `/dev/${d}`);
  });
  add('mkdir', '/dev/pts', 0o755);
  add('devpts', '/dev/pts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=0620');
  if (terminal) add('tty_place', '/dev/pts');
  add('symlink', 'pts/ptmx', '/dev/ptmx');
  add('mkdir', '/dev/shm', 0o1777);
  // Writable roots that share /dev/shm's mount as their ancestor bring the
  // host's /dev/shm; roots deeper in it get their mount points made in a
  // fresh one. Either way Landlock lets the command write only in the roots.
  const shmActions = layout.actions.filter(inDevShm);
  if (!shmActions.some((a) => a.kind === 'group' && a.path === '/dev/shm')) {
    add('tmpfs', '/dev/shm', MS.NOSUID | MS.NODEV, 'mode=01777');
    for (const d of devShmMountPoints(layout)) add('mkdir', d, 0o755);
  }
  for (const [name, target] of [
    ['fd', '/proc/self/fd'],
    ['stdin', '/proc/self/fd/0'],
    ['stdout', '/proc/self/fd/1'],
    ['stderr', '/proc/self/fd/2'],
    // bubblewrap's /dev has it; the kernel keeps /proc/kcore unreadable without CAP_SYS_RAWIO.
    ['core', '/proc/kcore'],
  ]) {
    add('symlink', target, `/dev/${name}`);
  }
  add('setattr', '/dev', READ_ONLY, 0);
  if (shmActions.length) place(shmActions, '/proc');
  closeCopies(true);
}

/** Directories to make in the sandbox's fresh /dev/shm for the writable roots below it (each group's ancestor and those above it there), parents first. */
function devShmMountPoints(layout: Layout): string[] {
  const out = new Set<string>();
  for (const g of layout.groups) {
    if (!isUnder(g.ancestor, '/dev/shm') || g.ancestor === '/dev/shm') continue;
    const parts = g.ancestor.slice('/dev/shm/'.length).split('/');
    for (let i = 1; i <= parts.length; i++) out.add(`/dev/shm/${parts.slice(0, i).join('/')}`);
  }
  return [...out]; // parents come before their children: each group adds its chain top down
}
