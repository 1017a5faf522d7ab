// bubblewrap's command line, parsed as bubblewrap 0.11.1 parses it: options
// in order (filesystem operations keep their order), `--args FD` read in
// place, `--perms`/`--size` as modifiers of the next operation, the same
// checks after parsing and the same messages (`bwrap: ...`, exit 1). Pure:
// the environment and the fds are read through the `io` given.
import { BwrapError, CAPS, capName, decimal, errnoText, octal, splitNul, strtoull0 } from './values';
import { BwrapArgs, emptyArgs, ParseIo } from './argv-types';
import { postChecks } from './post-checks';

export { BwrapError, CAPS, splitNul };
export type { BwrapArgs, FsOp, ParseIo, Unshare } from './argv-types';

const MAX_ARGS = 9000;
const MAX_TMPFS_BYTES = Number.MAX_SAFE_INTEGER; // SIZE_MAX/2 exceeds what a JS number holds exactly

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
        a.clearedEnv = true;
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
        const all = v.toUpperCase() === 'ALL';
        const name = all ? undefined : capName(v);
        if (!all && !name) throw new BwrapError(`unknown cap: ${v}`);
        const names = all ? CAPS : [name!];
        for (const c of names)
          if (arg === '--cap-add') {
            a.caps.add(c);
            a.capsAdded.add(c);
          } else {
            a.caps.delete(c);
            a.capsAdded.delete(c);
          }
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
