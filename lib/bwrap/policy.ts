// A parsed bubblewrap argv -> an sbx-native policy and spawn options: the
// sandbox bubblewrap would build from it, in sbx-native's terms (docs/bwrap.md
// lists every difference). Filesystem operations are taken in order, a later
// mount covering what an earlier one put at or below its destination, so the
// surviving rules mean the same under sbx-native's "most specific path wins".
// Anything that has no faithful mapping is refused with bubblewrap's error
// style, before anything runs.
import fs from 'fs';
import path from 'path';
import type { SandboxPolicy, Access, Guard } from '../policy';
import { BwrapArgs, BwrapError, CAPS, FsOp } from './args';
import type { SetupOp } from './setup';

export type Kind = 'dir' | 'file' | 'socket' | 'other' | 'symlink';

/** What the mapping reads of the host: the type of a path (not following a final symlink unless `follow`), a directory's entries, a symlink. */
export interface HostView {
  kind(p: string, follow: boolean): Kind | undefined;
  readdir(p: string): string[];
  readlink(p: string): string;
  realpath(p: string): string | undefined;
  /** The path an open fd names, checked to be the same inode; throws when the fd is not open. */
  fdPath(fd: number): string;
}

export const realHost: HostView = {
  kind(p, follow) {
    const st = follow ? fs.statSync(p, { throwIfNoEntry: false }) : fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) return undefined;
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSocket() ? 'socket' : 'other';
  },
  readdir: (p) => fs.readdirSync(p),
  readlink: (p) => fs.readlinkSync(p),
  realpath: (p) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return undefined;
    }
  },
  fdPath(fd) {
    const st = fs.fstatSync(fd, { bigint: true });
    const p = fs.readlinkSync(`/proc/self/fd/${fd}`);
    const again = fs.statSync(p, { bigint: true, throwIfNoEntry: false });
    if (!path.isAbsolute(p) || !again || again.dev !== st.dev || again.ino !== st.ino)
      throw Object.assign(new Error(`fd ${fd} (${p}) no longer names the same file`), { code: 'ESTALE' });
    return p;
  },
};

export interface Mapped {
  sandbox: SandboxPolicy;
  /** Absolute paths bubblewrap would create as mount points on the host: refused names instead (nothing is left behind). */
  guards: Guard[];
  /** Unix socket files bound in by their own --bind: connectable (allowUnixSockets once the policy has it). */
  unixSockets: string[];
  file: string;
  args: string[];
  argv0?: string;
  cwd: string;
  env: Record<string, string>;
  /** Namespace flags to add to the plan's unshare step (CLONE_NEWCGROUP). */
  extraUnshare: number;
  /** --hostname: set in the sandbox's own UTS namespace. */
  hostname?: string;
  /** --dir/--symlink/--file/--chmod, done inside the sandbox before the command (setup.ts). */
  setup: SetupOp[];
  /** What differs from bubblewrap for this argv, one sentence each (printed by --dry-run and -v). */
  notes: string[];
}

export interface MapContext {
  cwd: string;
  uid: number;
  host?: HostView;
}

const CLONE_NEWCGROUP = 0x02000000;

function unsupported(what: string, why: string): BwrapError {
  return new BwrapError(`${what}: not supported by sbx-native's bwrap front end (${why})`);
}

export function mapBwrap(a: BwrapArgs, ctx: MapContext): Mapped {
  const host = ctx.host ?? realHost;
  const notes: string[] = [];
  const refuse = (cond: unknown, what: string, why: string) => {
    if (cond) throw unsupported(what, why);
  };
  refuse(a.fds.userns !== undefined, '--userns', 'joining another user namespace');
  refuse(a.fds.userns2 !== undefined, '--userns2', 'joining another user namespace');
  refuse(a.fds.pidns !== undefined, '--pidns', 'joining another pid namespace');
  refuse(a.fds.usernsBlock !== undefined, '--userns-block-fd', 'the user namespace is set up by the helper in one step');
  refuse(a.fds.seccomp !== undefined, '--seccomp', "sbx-native installs its own seccomp filter and cannot stack a caller's yet");
  refuse(a.addSeccompFds.length, '--add-seccomp-fd', "sbx-native installs its own seccomp filter and cannot stack a caller's yet");
  refuse(a.labels.exec !== undefined, '--exec-label', 'no SELinux support');
  refuse(a.labels.file !== undefined, '--file-label', 'no SELinux support');
  refuse(a.uid !== undefined && a.uid !== ctx.uid, `--uid ${a.uid}`, "the user namespace maps only the caller's own uid");
  refuse(a.gid !== undefined && a.gid !== process.getgid?.(), `--gid ${a.gid}`, "the user namespace maps only the caller's own gid");
  // HOST_NAME_MAX; a NUL cannot reach the plan (encodePlan refuses it anyway).
  if (a.hostname !== undefined && (Buffer.byteLength(a.hostname) > 64 || a.hostname.includes('\0')))
    throw new BwrapError(`Can't set hostname to ${a.hostname}: Invalid argument`);
  if (a.asPid1)
    notes.push("--as-pid-1: the command runs as pid 2 under sbx-native's init (pid 1), which reaps, forwards signals and supervises");
  // The command never gets capabilities: what bubblewrap grants with --cap-add (or keeps for uid 0 by default) is not given.
  const asked = [...a.caps];
  if (asked.length && a.capsGiven) {
    throw new BwrapError(
      `--cap-add ${asked.length === CAPS.length ? 'ALL' : asked.join(',')}: not supported by sbx-native's bwrap front end (the command never holds capabilities; sandbox-runtime adds it for its seccomp helper, which needs nested user namespaces sbx-native refuses: set network.allowAllUnixSockets to run without the helper, see docs/bwrap.md)`,
    );
  }
  if (asked.length) notes.push('uid 0 keeps no capabilities (bubblewrap keeps them all unless --cap-drop ALL)');
  if (a.unshare.cgroup && !fs.existsSync('/proc/self/ns/cgroup'))
    throw new BwrapError('Cannot create new cgroup namespace because the kernel does not support it');
  const extraUnshare = a.unshare.cgroup || a.unshare.cgroupTry ? CLONE_NEWCGROUP : 0;

  // --bind-fd/--ro-bind-fd: the fd's own path, then as --bind/--ro-bind of it.
  const ops = a.ops.map((o): FsOp => {
    if (o.op !== 'bind-fd' && o.op !== 'ro-bind-fd') return o;
    let src: string;
    try {
      src = host.fdPath(o.fd);
    } catch (e) {
      throw new BwrapError(
        `Can't bind fd ${o.fd}: ${(e as NodeJS.ErrnoException).code === 'EBADF' ? 'Bad file descriptor' : (e as Error).message}`,
      );
    }
    return { op: o.op === 'bind-fd' ? 'bind' : 'ro-bind', src, dest: o.dest, try: false };
  });
  const fsm = mapFilesystem(ops, host, notes);
  if (!a.unshare.pid) notes.push("always a new pid namespace (bubblewrap shares the host's without --unshare-pid)");
  if (!a.unshare.ipc) notes.push('always a new IPC namespace');
  if (!a.unshare.uts) notes.push('always a new UTS namespace');
  if (!a.unshare.user) notes.push('always a user namespace mapping the caller');
  if (!a.newSession) notes.push('always a new session (--new-session): TIOCSTI is refused either way');
  if (!a.dieWithParent) notes.push('the sandbox always dies with its parent (--die-with-parent)');
  if (a.disableUserns || a.assertUsernsDisabled) notes.push('nested user namespaces fail with EPERM (seccomp), not ENOSPC');

  // As bubblewrap: --chdir, else the old cwd if the sandbox shows it, else $HOME, else /; PWD says which.
  const shown = (p: string | undefined) => p !== undefined && path.isAbsolute(p) && visible(fsm.rules, host.realpath(p) ?? p);
  const cwd = a.chdir !== undefined ? path.resolve(ctx.cwd, a.chdir) : shown(ctx.cwd) ? ctx.cwd : shown(a.env.HOME) ? a.env.HOME! : '/';
  const env = { ...a.env, PWD: cwd };
  const writes = Object.values(fsm.rules).includes('write');
  const sandbox: SandboxPolicy = {
    mode: writes ? 'workspace-write' : 'read-only',
    ...(writes ? { writableRoots: [] } : {}),
    rules: fsm.rules,
    network: !a.unshare.net,
    tmp: fsm.privateTmp ? 'private' : 'none',
  };
  return {
    sandbox,
    guards: fsm.guards,
    unixSockets: fsm.sockets,
    file: a.command[0],
    args: a.command.slice(1),
    argv0: a.argv0,
    cwd,
    env,
    extraUnshare,
    hostname: a.hostname,
    setup: fsm.setup,
    notes,
  };
}

interface FsMapping {
  setup: SetupOp[];
  rules: Record<string, Access>;
  guards: Guard[];
  sockets: string[];
  privateTmp: boolean;
}

function under(p: string, dir: string): boolean {
  return dir === '/' ? p.startsWith('/') : p === dir || p.startsWith(`${dir}/`);
}

function mapFilesystem(ops: FsOp[], host: HostView, notes: string[]): FsMapping {
  const rules: Record<string, Access> = {};
  const guards: Guard[] = [];
  const sockets: string[] = [];
  const setup: SetupOp[] = [];
  let privateTmp = false;
  let root: 'ro' | 'rw' | 'empty' = 'empty';
  let dev = false;
  let proc = false;
  const abs = (p: string, opt: string) => {
    if (!path.isAbsolute(p)) throw unsupported(`${opt} ${p}`, 'destinations must be absolute paths');
    return path.normalize(p);
  };
  // A later mount covers whatever earlier ones put at or below it.
  const cover = (dest: string) => {
    for (const k of Object.keys(rules)) if (under(k, dest)) delete rules[k];
    for (let i = guards.length - 1; i >= 0; i--) if (under(guards[i].path, dest)) guards.splice(i, 1);
    if (dest === '/tmp' || dest === '/') privateTmp = false;
  };
  const missingDest = (dest: string, opt: string) => {
    // bubblewrap would make it as a mount point on the host (when writable): sbx-native leaves no litter.
    guards.push({ path: dest, why: `bwrap ${opt} onto a missing path (a refused name)` });
  };
  ops.forEach((op, index) => {
    switch (op.op) {
      case 'bind':
      case 'ro-bind':
      case 'dev-bind': {
        const opt = `--${op.op}${op.try ? '-try' : ''}`;
        const dest = abs(op.dest, opt);
        const src = host.realpath(op.src);
        if (src === undefined) {
          if (op.try) return;
          throw new BwrapError(`Can't find source path ${op.src}: No such file or directory`);
        }
        const writable = op.op !== 'ro-bind';
        if (dest === '/') {
          if (src !== '/') throw unsupported(`${opt} ${op.src} /`, 'only / can be bound onto /');
          cover('/');
          root = writable ? 'rw' : 'ro';
          if (op.op === 'dev-bind') notes.push("--dev-bind / /: the host's devices are not reachable; /dev is sbx-native's minimal one");
          if (writable) rules['/'] = 'write';
          return;
        }
        const destReal = host.realpath(dest);
        const srcKind = host.kind(src, true);
        const identity = destReal === src;
        if (op.op === 'dev-bind' && (dest === '/dev' || under(dest, '/dev'))) {
          if (identity && dest === '/dev') {
            dev = true;
            notes.push("--dev-bind /dev /dev: sbx-native's minimal /dev instead of the host's");
            return;
          }
          throw unsupported(`${opt} ${op.src} ${op.dest}`, "device nodes are not bound in; /dev is sbx-native's minimal one");
        }
        if (under(dest, '/proc') || under(dest, '/dev')) {
          throw unsupported(`${opt} ${op.src} ${op.dest}`, 'the sandbox has its own /proc and a minimal /dev');
        }
        if (identity) {
          cover(destReal);
          if (srcKind === 'socket') {
            sockets.push(destReal);
            return;
          }
          if (writable && srcKind !== 'dir')
            throw unsupported(`${opt} ${op.src} ${op.dest}`, 'a writable bind of a file: writable roots are directories');
          rules[destReal] = writable ? 'write' : 'read';
          if (op.op === 'dev-bind') notes.push(`${opt} ${op.dest}: device nodes there stay unusable (nodev)`);
          return;
        }
        // A bind of an empty thing onto a path: bubblewrap's masks (/dev/null onto a file, an empty directory onto one).
        const empty = src === '/dev/null' || (srcKind === 'dir' && host.readdir(src).length === 0);
        if (!writable && empty) {
          const dk = host.kind(dest, true);
          cover(destReal ?? dest);
          if (dk === undefined) return missingDest(dest, `${opt} ${op.src}`);
          if ((src === '/dev/null') !== (dk !== 'dir')) {
            throw new BwrapError(`Can't bind mount ${op.src} on ${op.dest}: ${dk === 'dir' ? 'Not a directory' : 'Is a directory'}`);
          }
          rules[destReal!] = 'none';
          return;
        }
        throw unsupported(
          `${opt} ${op.src} ${op.dest}`,
          'a bind must be of a path onto itself, or of /dev/null or an empty directory read-only',
        );
      }
      case 'tmpfs': {
        const dest = abs(op.dest, '--tmpfs');
        const real = host.realpath(dest);
        cover(real ?? dest);
        if (dest === '/') {
          root = 'empty';
          return;
        }
        if (real === '/tmp' && !remountedLater(ops, index, dest)) {
          privateTmp = true;
          if (op.perms !== undefined && op.perms !== 0o1777) notes.push(`--tmpfs /tmp: mode 1777, not ${op.perms.toString(8)}`);
          return;
        }
        if (real === undefined) return missingDest(dest, '--tmpfs');
        if (host.kind(real, true) !== 'dir') throw new BwrapError(`Can't mkdir ${op.dest}: File exists`);
        rules[real] = 'none';
        if (!remountedLater(ops, index, dest))
          notes.push(`--tmpfs ${op.dest}: empty and read-only (bubblewrap's is writable; what is written there would vanish)`);
        if (op.perms !== undefined || op.size !== undefined)
          notes.push(`--tmpfs ${op.dest}: --perms/--size do not apply (an empty read-only directory)`);
        return;
      }
      case 'remount-ro': {
        const dest = abs(op.dest, '--remount-ro');
        const real = host.realpath(dest) ?? dest;
        if (rules[real] === 'write') {
          rules[real] = 'read';
          return;
        }
        if (rules[real] === 'none' || rules[real] === 'read' || guards.some((g) => g.path === dest)) return;
        if (real === '/' && root === 'rw') {
          delete rules['/'];
          root = 'ro';
          return;
        }
        if (real === '/' || !inWritable(rules, real)) return; // read-only already
        throw unsupported(`--remount-ro ${op.dest}`, 'not a mount point made by an earlier option');
      }
      case 'dev':
        if (abs(op.dest, '--dev') !== '/dev') throw unsupported(`--dev ${op.dest}`, 'the minimal /dev is always at /dev');
        dev = true;
        return;
      case 'proc':
        if (abs(op.dest, '--proc') !== '/proc') throw unsupported(`--proc ${op.dest}`, "the sandbox's /proc is always at /proc");
        proc = true;
        return;
      case 'file': {
        const dest = abs(op.dest, '--file');
        if (root === 'empty')
          throw unsupported(`--file ${op.fd} ${op.dest}`, 'files are made in a writable root only, not in an empty root');
        setup.push({ op: 'file', dest, perms: op.perms, data: op.data.toString('base64') });
        return;
      }
      case 'ro-bind-data':
      case 'bind-data': {
        const opt = `--${op.op}`;
        const dest = abs(op.dest, opt);
        if (op.op !== 'ro-bind-data')
          throw unsupported(`${opt} ${op.fd} ${op.dest}`, 'a writable copy bound over a path is not supported yet');
        if (op.data.length) throw unsupported(`${opt} ${op.fd} ${op.dest}`, 'only empty data is supported (an empty read-only file)');
        const real = host.realpath(dest);
        cover(real ?? dest);
        if (real === undefined) return missingDest(dest, opt);
        if (host.kind(real, true) === 'dir') throw new BwrapError(`Can't create file at ${op.dest}: Is a directory`);
        rules[real] = 'none';
        return;
      }
      case 'dir': {
        const dest = abs(op.dest, '--dir');
        if (host.kind(dest, true) === 'dir') return; // bubblewrap keeps an existing directory as it is
        if (root === 'empty') throw unsupported(`--dir ${op.dest}`, 'directories are made in a writable root only, not in an empty root');
        setup.push({ op: 'dir', dest, perms: op.perms });
        return;
      }
      case 'symlink': {
        const dest = abs(op.dest, '--symlink');
        if (host.kind(dest, false) === 'symlink') {
          const existing = host.readlink(dest);
          if (existing === op.target) return; // as bubblewrap: the same link already there
          throw new BwrapError(`Can't make symlink at ${op.dest}: existing destination is ${existing}`);
        }
        if (root === 'empty')
          throw unsupported(`--symlink ${op.target} ${op.dest}`, 'symlinks are made in a writable root only, not in an empty root');
        setup.push({ op: 'symlink', target: op.target, dest });
        return;
      }
      case 'chmod':
        setup.push({ op: 'chmod', dest: abs(op.dest, '--chmod'), perms: op.perms });
        return;
      case 'bind-fd':
      case 'ro-bind-fd':
        throw unsupported(`--${op.op} ${op.fd} ${op.dest}`, 'binds from fds are not supported yet');
      case 'mqueue':
        throw unsupported(`--mqueue ${op.dest}`, 'no mqueue mounts');
      case 'lock-file':
        throw unsupported(`--lock-file ${op.dest}`, 'no lock files');
      case 'overlay-src':
      case 'overlay':
      case 'tmp-overlay':
      case 'ro-overlay':
        throw unsupported(`--${op.op}`, 'no overlay mounts');
    }
  });
  if (root === 'empty') emptyRoot(rules, host, notes);
  if (!dev) notes.push("/dev is sbx-native's minimal one even without --dev");
  if (!proc) notes.push('/proc is a fresh procfs even without --proc');
  // A private /tmp is new in every sandbox: what the set-up run made there the command would not see.
  const lost = privateTmp ? setup.find((o) => under(o.dest, '/tmp')) : undefined;
  if (lost) throw unsupported(`--${lost.op} ${lost.dest}`, 'it would be made in a --tmpfs /tmp, which is made anew for the command');
  return { rules, guards, sockets, privateTmp, setup };
}

function remountedLater(ops: FsOp[], index: number, dest: string): boolean {
  return ops.slice(index + 1).some((o) => o.op === 'remount-ro' && path.normalize(o.dest) === path.normalize(dest));
}

/** Whether the most specific rule at or above `p` leaves it shown (a hidden directory looks empty). */
function visible(rules: Record<string, Access>, p: string): boolean {
  let best: string | undefined;
  for (const k of Object.keys(rules)) if (under(p, k) && (best === undefined || k.length > best.length)) best = k;
  return best === undefined || rules[best] !== 'none';
}

function inWritable(rules: Record<string, Access>, p: string): boolean {
  let best: string | undefined;
  for (const k of Object.keys(rules)) if (under(p, k) && (best === undefined || k.length > best.length)) best = k;
  return best !== undefined && rules[best] === 'write';
}

/**
 * No `--ro-bind / /`: bubblewrap's root is empty but for what is bound. Each
 * top-level directory that nothing was bound at or below is hidden (looks
 * empty), and those above a bound path are hidden with the bound path shown
 * through. /dev and /proc are the sandbox's own.
 */
function emptyRoot(rules: Record<string, Access>, host: HostView, notes: string[]): void {
  const bound = Object.keys(rules);
  for (const name of host.readdir('/')) {
    const p = `/${name}`;
    if (p === '/dev' || p === '/proc') continue;
    const kind = host.kind(p, false);
    if (kind === 'symlink') continue; // a link at the top (usrmerge's /bin) leads into a hidden or shown place
    if (bound.includes(p)) continue;
    rules[p] = kind === 'dir' ? 'none' : 'none';
  }
  notes.push('no --ro-bind / /: top-level names that were not bound look empty instead of being absent; top-level symlinks stay');
}
