// bubblewrap's command line, parsed as bubblewrap 0.11.1 parses it: options
// in order (filesystem operations keep their order), `--args FD` read in
// place, `--perms`/`--size` as modifiers of the next operation, the same
// checks after parsing and the same messages (`bwrap: ...`, exit 1). Pure:
// the environment and the fds are read through the `io` given.
import { BwrapError, CAPS, capName, decimal, errnoText, octal, splitNul, strtoull0 } from './values';

export { BwrapError, CAPS, splitNul };

const MAX_ARGS = 9000;
const MAX_TMPFS_BYTES = Number.MAX_SAFE_INTEGER; // SIZE_MAX/2 exceeds what a JS number holds exactly

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
  capsGiven: boolean;
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
    capsGiven: false,
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

/** Parses bubblewrap's argv (without argv[0]). Throws BwrapError with bubblewrap's message. */
export function parseBwrapArgs(argv: readonly string[], io: ParseIo): BwrapArgs {
  const a = emptyArgs(io.env);
  if (io.uid === 0) for (const c of CAPS) a.caps.add(c);
  if (argv.length === 0) throw new BwrapError('usage', 1);
  const st = { total: argv.length, perms: -1, size: 0, overlaySrcs: 0 };
  const rest = parseList([...argv], false, a, io, st);
  if (a.action) return a;
  if (st.overlaySrcs > 0)
    throw new BwrapError('--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay');
  a.command = rest;
  postChecks(a, io);
  return a;
}

interface State {
  total: number;
  perms: number;
  size: number;
  overlaySrcs: number;
}

function parseList(argv: string[], inFile: boolean, a: BwrapArgs, io: ParseIo, st: State): string[] {
  if (st.total > MAX_ARGS) throw new BwrapError(`Exceeded maximum number of arguments ${MAX_ARGS}`);
  let i = 0;
  const need = (n: number, msg: string) => {
    if (argv.length - i < n + 1) throw new BwrapError(msg);
  };
  const fdArg = (s: string) => {
    const n = decimal(s);
    if (n === undefined) throw new BwrapError(`Invalid fd: ${s}`);
    return n;
  };
  const lastOnly = (name: string, set: boolean) => {
    if (set) a.warnings.push(`Only the last ${name} option will take effect`);
  };
  const takePerms = () => {
    const p = st.perms >= 0 ? st.perms : undefined;
    st.perms = -1;
    return p;
  };
  const readData = (fd: number, what: string) => {
    try {
      const d = io.readFd(fd);
      a.consumedFds.push(fd);
      return d;
    } catch (e) {
      throw new BwrapError(`Can't read ${what}: ${errnoText(e as NodeJS.ErrnoException)}`);
    }
  };
  while (i < argv.length) {
    const arg = argv[i];
    const two = `${arg} takes two arguments`;
    switch (arg) {
      case '--help':
        a.action = 'help';
        return [];
      case '--version':
        a.action = 'version';
        return [];
      case '--args': {
        if (inFile) throw new BwrapError('--args not supported in arguments file');
        need(1, '--args takes an argument');
        const fd = fdArg(argv[i + 1]);
        const data = readData(fd, '--args data');
        const words = splitNul(data);
        st.total += words.length;
        if (st.total > MAX_ARGS) throw new BwrapError(`Exceeded maximum number of arguments ${MAX_ARGS}`);
        // The file's words are parsed as options only: bubblewrap ignores a command left in it.
        parseList(words, true, a, io, st);
        if (a.action) return [];
        i += 1;
        break;
      }
      case '--argv0':
        need(1, '--argv0 takes one argument');
        if (a.argv0 !== undefined) throw new BwrapError('--argv0 used multiple times');
        a.argv0 = argv[++i];
        break;
      case '--level-prefix':
        a.levelPrefix = true;
        break;
      case '--unshare-all':
        Object.assign(a.unshare, { userTry: true, ipc: true, pid: true, uts: true, cgroupTry: true, net: true });
        break;
      case '--unshare-user':
        a.unshare.user = true;
        break;
      case '--unshare-user-try':
        a.unshare.userTry = true;
        break;
      case '--unshare-ipc':
        a.unshare.ipc = true;
        break;
      case '--unshare-pid':
        a.unshare.pid = true;
        break;
      case '--unshare-net':
        a.unshare.net = true;
        break;
      case '--unshare-uts':
        a.unshare.uts = true;
        break;
      case '--unshare-cgroup':
        a.unshare.cgroup = true;
        break;
      case '--unshare-cgroup-try':
        a.unshare.cgroupTry = true;
        break;
      case '--share-net':
        a.unshare.net = false;
        break;
      case '--chdir':
        need(1, '--chdir takes one argument');
        lastOnly('--chdir', a.chdir !== undefined);
        a.chdir = argv[++i];
        break;
      case '--disable-userns':
        a.disableUserns = true;
        break;
      case '--assert-userns-disabled':
        a.assertUsernsDisabled = true;
        break;
      case '--remount-ro':
        need(1, '--remount-ro takes one argument');
        a.ops.push({ op: 'remount-ro', dest: argv[++i] });
        break;
      case '--bind':
      case '--bind-try':
      case '--ro-bind':
      case '--ro-bind-try':
      case '--dev-bind':
      case '--dev-bind-try': {
        need(2, two);
        const op = arg.replace(/^--/, '').replace(/-try$/, '') as 'bind' | 'ro-bind' | 'dev-bind';
        a.ops.push({ op, src: argv[i + 1], dest: argv[i + 2], try: arg.endsWith('-try') });
        i += 2;
        break;
      }
      case '--bind-fd':
      case '--ro-bind-fd':
        need(2, `${arg} takes two arguments`);
        a.ops.push({ op: arg.slice(2) as 'bind-fd' | 'ro-bind-fd', fd: fdArg(argv[i + 1]), dest: argv[i + 2] });
        i += 2;
        break;
      case '--overlay-src':
        need(1, '--overlay-src takes an argument');
        a.ops.push({ op: 'overlay-src', src: argv[++i] });
        st.overlaySrcs++;
        break;
      case '--overlay':
        need(3, '--overlay takes three arguments');
        if (st.overlaySrcs < 1) throw new BwrapError('--overlay requires at least one --overlay-src');
        a.ops.push({ op: 'overlay', rw: argv[i + 1], work: argv[i + 2], dest: argv[i + 3] });
        st.overlaySrcs = 0;
        i += 3;
        break;
      case '--tmp-overlay':
      case '--ro-overlay': {
        need(1, `${arg} takes an argument`);
        const min = arg === '--ro-overlay' ? 2 : 1;
        if (st.overlaySrcs < min) throw new BwrapError(`${arg} requires at least ${min === 1 ? 'one --overlay-src' : 'two --overlay-src'}`);
        a.ops.push({ op: arg.slice(2) as 'tmp-overlay' | 'ro-overlay', dest: argv[++i] });
        st.overlaySrcs = 0;
        break;
      }
      case '--exec-label':
      case '--file-label':
        need(1, `${arg} takes an argument`);
        a.labels[arg === '--exec-label' ? 'exec' : 'file'] = argv[++i];
        break;
      case '--proc':
      case '--dev':
      case '--mqueue':
        need(1, `${arg} takes an argument`);
        a.ops.push({ op: arg.slice(2) as 'proc' | 'dev' | 'mqueue', dest: argv[++i] });
        break;
      case '--tmpfs':
        need(1, '--tmpfs takes an argument');
        a.ops.push({ op: 'tmpfs', dest: argv[++i], perms: takePerms(), size: st.size || undefined });
        st.size = 0;
        break;
      case '--dir':
        need(1, '--dir takes an argument');
        a.ops.push({ op: 'dir', dest: argv[++i], perms: takePerms() });
        break;
      case '--file':
      case '--bind-data':
      case '--ro-bind-data': {
        need(2, two);
        const fd = fdArg(argv[i + 1]);
        const data = readData(fd, `${arg} data from fd ${fd}`);
        a.ops.push({ op: arg.slice(2) as 'file' | 'bind-data' | 'ro-bind-data', fd, dest: argv[i + 2], perms: takePerms(), data });
        i += 2;
        break;
      }
      case '--symlink':
        need(2, '--symlink takes two arguments');
        a.ops.push({ op: 'symlink', target: argv[i + 1], dest: argv[i + 2] });
        i += 2;
        break;
      case '--lock-file':
        need(1, '--lock-file takes an argument');
        a.ops.push({ op: 'lock-file', dest: argv[++i] });
        break;
      case '--sync-fd':
      case '--block-fd':
      case '--userns-block-fd':
      case '--info-fd':
      case '--json-status-fd':
      case '--seccomp':
      case '--userns':
      case '--userns2':
      case '--pidns': {
        need(1, `${arg} takes an argument`);
        const key = (
          {
            '--sync-fd': 'sync',
            '--block-fd': 'block',
            '--userns-block-fd': 'usernsBlock',
            '--info-fd': 'info',
            '--json-status-fd': 'jsonStatus',
            '--seccomp': 'seccomp',
            '--userns': 'userns',
            '--userns2': 'userns2',
            '--pidns': 'pidns',
          } as const
        )[arg];
        if (arg === '--seccomp' && a.addSeccompFds.length) throw new BwrapError('--seccomp cannot be combined with --add-seccomp-fd');
        if (['--seccomp', '--userns', '--userns2', '--pidns'].includes(arg)) lastOnly(arg, a.fds[key] !== undefined);
        a.fds[key] = fdArg(argv[++i]);
        break;
      }
      case '--add-seccomp-fd':
        need(1, '--add-seccomp-fd takes an argument');
        if (a.fds.seccomp !== undefined) throw new BwrapError('--add-seccomp-fd cannot be combined with --seccomp');
        a.addSeccompFds.push(fdArg(argv[++i]));
        break;
      case '--clearenv':
        for (const k of Object.keys(a.env)) delete a.env[k];
        break;
      case '--setenv':
        need(2, '--setenv takes two arguments');
        a.env[argv[i + 1]] = argv[i + 2];
        i += 2;
        break;
      case '--unsetenv':
        need(1, '--unsetenv takes an argument');
        delete a.env[argv[++i]];
        break;
      case '--uid':
      case '--gid': {
        need(1, `${arg} takes an argument`);
        const key = arg === '--uid' ? 'uid' : 'gid';
        lastOnly(arg, a[key] !== undefined);
        const n = decimal(argv[++i]);
        if (n === undefined) throw new BwrapError(`Invalid ${key}: ${argv[i]}`);
        a[key] = n;
        break;
      }
      case '--hostname':
        need(1, '--hostname takes an argument');
        lastOnly('--hostname', a.hostname !== undefined);
        a.hostname = argv[++i];
        break;
      case '--new-session':
        a.newSession = true;
        break;
      case '--die-with-parent':
        a.dieWithParent = true;
        break;
      case '--as-pid-1':
        a.asPid1 = true;
        break;
      case '--cap-add':
      case '--cap-drop': {
        need(1, `${arg} takes an argument`);
        const v = argv[++i];
        a.capsGiven = true;
        const all = v.toUpperCase() === 'ALL';
        const name = all ? undefined : capName(v);
        if (!all && !name) throw new BwrapError(`unknown cap: ${v}`);
        const names = all ? CAPS : [name!];
        for (const c of names)
          if (arg === '--cap-add') a.caps.add(c);
          else a.caps.delete(c);
        break;
      }
      case '--perms':
        need(1, '--perms takes an argument');
        if (st.perms !== -1) throw new BwrapError('--perms given twice for the same action');
        st.perms = octal(argv[++i], '--perms');
        break;
      case '--size': {
        need(1, '--size takes an argument');
        if (st.size !== 0) throw new BwrapError('--size given twice for the same action');
        const v = argv[++i];
        const n = /^[0-9]/.test(v) ? strtoull0(v) : undefined;
        if (n === undefined || n === 0) throw new BwrapError('--size takes a non-zero number of bytes');
        if (n > MAX_TMPFS_BYTES) throw new BwrapError(`--size (for tmpfs) is limited to ${MAX_TMPFS_BYTES}`);
        st.size = n;
        break;
      }
      case '--chmod':
        need(2, '--chmod takes two arguments');
        a.ops.push({ op: 'chmod', perms: octal(argv[i + 1], '--chmod'), dest: argv[i + 2] });
        i += 2;
        break;
      case '--':
        return argv.slice(i + 1);
      default:
        if (arg.startsWith('-')) throw new BwrapError(`Unknown option ${arg}`);
        return argv.slice(i);
    }
    if (arg !== '--perms' && arg !== '--size') {
      if (st.perms >= 0) throw new BwrapError('--perms must be followed by an option that creates a file');
      if (st.size !== 0) throw new BwrapError('--size must be followed by --tmpfs');
    }
    if (arg !== '--overlay-src' && st.overlaySrcs > 0) {
      throw new BwrapError('--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay');
    }
    i++;
  }
  return [];
}

/** The checks bubblewrap makes once everything is parsed. */
function postChecks(a: BwrapArgs, io: ParseIo): void {
  const u = a.unshare;
  if (a.fds.usernsBlock !== undefined && !u.user) throw new BwrapError('--userns-block-fd requires --unshare-user');
  if (a.fds.usernsBlock !== undefined && a.fds.info === undefined) throw new BwrapError('--userns-block-fd requires --info-fd');
  if (a.fds.userns !== undefined && u.user) throw new BwrapError('--userns not compatible --unshare-user');
  if (a.fds.userns !== undefined && u.userTry) throw new BwrapError('--userns not compatible --unshare-user-try');
  if (a.disableUserns && !u.user) throw new BwrapError('--disable-userns requires --unshare-user');
  if (a.disableUserns && a.fds.usernsBlock !== undefined)
    throw new BwrapError('--disable-userns is not compatible with  --userns-block-fd');
  // Not root (and never setuid): bubblewrap makes the user namespace itself.
  if (io.uid !== 0 && a.fds.userns === undefined) u.user = true;
  if (u.userTry) u.user = true;
  if (a.command.length === 0) throw new BwrapError('usage', 1);
  if (!u.user && a.fds.userns === undefined && a.uid !== undefined && a.uid !== io.uid)
    throw new BwrapError('Specifying --uid requires --unshare-user or --userns');
  if (!u.user && a.fds.userns === undefined && a.gid !== undefined && a.gid !== (io.gid ?? process.getgid?.()))
    throw new BwrapError('Specifying --gid requires --unshare-user or --userns');
  if (!u.uts && a.hostname !== undefined) throw new BwrapError('Specifying --hostname requires --unshare-uts');
  if (a.asPid1 && !u.pid) throw new BwrapError('Specifying --as-pid-1 requires --unshare-pid');
  if (a.asPid1 && a.ops.some((o) => o.op === 'lock-file')) throw new BwrapError('Specifying --as-pid-1 and --lock-file is not permitted');
}
