// What bubblewrap's command line says (lib/bwrap/args.ts fills it in), before
// lib/bwrap/policy.ts turns it into a policy.

export type FsOp =
  | { op: 'bind' | 'ro-bind' | 'dev-bind'; src: string; dest: string; try: boolean }
  | { op: 'bind-fd' | 'ro-bind-fd'; fd: number; dest: string }
  | { op: 'remount-ro'; dest: string }
  | { op: 'tmpfs'; dest: string; perms?: number; size?: number }
  | { op: 'proc' | 'dev' | 'mqueue'; dest: string }
  | { op: 'dir'; dest: string; perms?: number }
  | { op: 'file' | 'bind-data' | 'ro-bind-data'; fd: number; dest: string; perms?: number; data: Buffer }
  | { op: 'symlink'; target: string; dest: string }
  | { op: 'chmod'; perms: number; dest: string }
  | { op: 'overlay-src'; src: string }
  | { op: 'overlay'; rw: string; work: string; dest: string }
  | { op: 'tmp-overlay' | 'ro-overlay'; dest: string }
  | { op: 'lock-file'; dest: string };

export interface Unshare {
  user: boolean;
  userTry: boolean;
  ipc: boolean;
  pid: boolean;
  net: boolean;
  uts: boolean;
  cgroup: boolean;
  cgroupTry: boolean;
}

export interface BwrapArgs {
  /** `--help` or `--version` was reached: nothing else matters. */
  action?: 'help' | 'version';
  ops: FsOp[];
  unshare: Unshare;
  /** The command's environment after --setenv/--unsetenv/--clearenv, applied in order. */
  env: Record<string, string>;
  /** --clearenv was given: the command gets no SBX_NATIVE_SANDBOX either (lib/marker.ts). */
  clearedEnv?: boolean;
  chdir?: string;
  argv0?: string;
  hostname?: string;
  uid?: number;
  gid?: number;
  newSession: boolean;
  dieWithParent: boolean;
  asPid1: boolean;
  /** Capabilities the command asks to keep (bubblewrap's rule: all for uid 0 unless dropped). */
  caps: Set<string>;
  /** What --cap-add asked for and no later --cap-drop took back. */
  capsAdded: Set<string>;
  disableUserns: boolean;
  assertUsernsDisabled: boolean;
  levelPrefix: boolean;
  fds: {
    userns?: number;
    userns2?: number;
    pidns?: number;
    sync?: number;
    block?: number;
    usernsBlock?: number;
    info?: number;
    jsonStatus?: number;
    seccomp?: number;
  };
  addSeccompFds: number[];
  labels: { exec?: string; file?: string };
  /** Fds bubblewrap reads and closes (--args, --file, --bind-data, ...): not passed on. */
  consumedFds: number[];
  warnings: string[];
  command: string[];
}

export interface ParseIo {
  /** The contents of an fd, read to its end; throws an errno error (code) when it cannot. */
  readFd(fd: number): Buffer;
  env: Record<string, string | undefined>;
  /** The caller's uid: uid 0 keeps every capability unless dropped. */
  uid: number;
  /** The caller's gid (--gid of another needs a user namespace). */
  gid?: number;
}

export function emptyArgs(env: Record<string, string | undefined>): BwrapArgs {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) e[k] = v;
  return {
    ops: [],
    unshare: { user: false, userTry: false, ipc: false, pid: false, net: false, uts: false, cgroup: false, cgroupTry: false },
    env: e,
    newSession: false,
    dieWithParent: false,
    asPid1: false,
    caps: new Set(),
    capsAdded: new Set(),
    disableUserns: false,
    assertUsernsDisabled: false,
    levelPrefix: false,
    fds: {},
    addSeccompFds: [],
    labels: {},
    consumedFds: [],
    warnings: [],
    command: [],
  };
}
