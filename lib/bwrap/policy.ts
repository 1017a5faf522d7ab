// A parsed bubblewrap argv -> an sbx-native policy and spawn options: the
// sandbox bubblewrap would build from it, in sbx-native's terms (docs/bwrap.md
// lists every difference). Filesystem operations are taken in order, a later
// mount covering what an earlier one put at or below its destination, so the
// surviving rules mean the same under sbx-native's "most specific path wins".
// Anything that has no faithful mapping is refused with bubblewrap's error
// style, before anything runs.
import fs from 'fs';
import path from 'path';
import type { SandboxPolicy, Guard } from '../policy';
import { BwrapArgs, BwrapError, CAPS, FsOp } from './args';
import type { SetupOp } from './setup';
import type { Scratch } from '../scratch';
import type { View } from '../views';
import type { DataFile } from '../data-files';
import type { FreshNode } from '../fresh-nodes';
import type { MovedRoot } from '../moved-roots';
import { HostView, mapFilesystem, realHost, visible } from './filesystem';
import { unsupported } from './values';

export { realHost };
export type { HostView, Kind } from './filesystem';

export interface Mapped {
  sandbox: SandboxPolicy;
  /** Absolute paths bubblewrap would create as mount points on the host: refused names instead (nothing is left behind). */
  guards: Guard[];
  /** Writable --tmpfs directories: private scratch (lib/scratch.ts). */
  scratch: Scratch[];
  /** --ro-bind SRC DEST of different paths: read-only views (lib/views.ts). */
  views: View[];
  /** --bind-data/--ro-bind-data with data (or writable): private files over existing paths (lib/data-files.ts). */
  dataFiles: DataFile[];
  /** --dir/--file/--symlink inside a fresh tmpfs, made by the helper (lib/fresh-nodes.ts). */
  freshNodes: FreshNode[];
  /** --bind SRC DEST of different paths: writable roots of their own (lib/moved-roots.ts). */
  movedRoots: MovedRoot[];
  /** Unix socket files bound in by their own --bind: connectable (allowUnixSockets once the policy has it). */
  unixSockets: string[];
  file: string;
  args: string[];
  argv0?: string;
  cwd: string;
  env: Record<string, string>;
  /** Namespace flags to add to the plan's unshare step (CLONE_NEWCGROUP). */
  extraUnshare: number;
  /** --uid/--gid: the ids the caller's own are mapped to inside the user namespace (undefined: the same). */
  uid?: number;
  gid?: number;
  /** --lock-file: read-locked by init while the sandbox runs (the lock_file plan step). */
  lockFiles: string[];
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

/** Namespace flags the argv adds to the plan's unshare step (--unshare-cgroup(-try), --unshare-all). */
export function extraUnshareOf(a: BwrapArgs): number {
  return a.unshare.cgroup || a.unshare.cgroupTry ? CLONE_NEWCGROUP : 0;
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
  // HOST_NAME_MAX; a NUL cannot reach the plan (encodePlan refuses it anyway).
  if (a.hostname !== undefined && (Buffer.byteLength(a.hostname) > 64 || a.hostname.includes('\0')))
    throw new BwrapError(`Can't set hostname to ${a.hostname}: Invalid argument`);
  if (a.asPid1)
    notes.push("--as-pid-1: the command runs as pid 2 under sbx-native's init (pid 1), which reaps, forwards signals and supervises");
  // The command never holds capabilities, in its user namespace too (docs/bwrap.md, --cap-add): refused, never accepted and dropped.
  if (a.capsAdded.size) {
    const added = a.capsAdded.size === CAPS.length ? 'ALL' : [...a.capsAdded].join(',');
    throw new BwrapError(
      `--cap-add ${added}: not supported by sbx-native's bwrap front end (the command holds no capabilities, also in its user namespace: ` +
        "CAP_SYS_PTRACE would let it take over the supervisor in init, CAP_SETFCAP let a uid 0 caller's command write file capabilities the host honours; " +
        'sandbox-runtime adds CAP_SETFCAP only as root for its seccomp helper, whose nested user namespace sbx-native refuses anyway: ' +
        'set network.allowAllUnixSockets to run without the helper, see docs/bwrap.md)',
    );
  }
  if (a.caps.size) notes.push('uid 0 keeps no capabilities (bubblewrap keeps them all unless --cap-drop ALL)');
  if (a.unshare.cgroup && !fs.existsSync('/proc/self/ns/cgroup'))
    throw new BwrapError('Cannot create new cgroup namespace because the kernel does not support it');
  const extraUnshare = extraUnshareOf(a);

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
  if (!a.dieWithParent) notes.push('the sandbox always dies with the front end (bubblewrap: only with --die-with-parent)');
  if (a.disableUserns || a.assertUsernsDisabled) notes.push('nested user namespaces fail with EPERM (seccomp), not ENOSPC');

  // As bubblewrap: --chdir, else the old cwd if the sandbox shows it, else $HOME, else /; PWD says which.
  // A path strictly inside a fresh tmpfs is not there (bubblewrap's chdir fails and it falls back too).
  const fresh = [...(fsm.privateTmp ? ['/tmp'] : []), ...fsm.scratch.map((sc) => sc.path)];
  const shown = (p: string | undefined) => {
    if (p === undefined || !path.isAbsolute(p)) return false;
    const real = host.realpath(p);
    if (real === undefined) return false; // a HOME that does not exist: on to /, as bubblewrap's chdir fails
    return visible(fsm.rules, real) && !fresh.some((f) => real.startsWith(`${f}/`)); // the tmpfs itself is there
  };
  const cwd = a.chdir !== undefined ? path.resolve(ctx.cwd, a.chdir) : shown(ctx.cwd) ? ctx.cwd : shown(a.env.HOME) ? a.env.HOME! : '/';
  const env = { ...a.env, PWD: cwd };
  const writes = Object.values(fsm.rules).includes('write') || fsm.scratch.length > 0 || fsm.dataFiles.some((d) => d.writable);
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
    scratch: fsm.scratch,
    views: fsm.views,
    dataFiles: fsm.dataFiles,
    freshNodes: fsm.freshNodes,
    movedRoots: fsm.movedRoots,
    unixSockets: fsm.sockets,
    file: a.command[0],
    args: a.command.slice(1),
    argv0: a.argv0,
    cwd,
    env,
    extraUnshare,
    uid: a.uid,
    gid: a.gid,
    hostname: a.hostname,
    lockFiles: fsm.lockFiles,
    setup: fsm.setup,
    notes,
  };
}
