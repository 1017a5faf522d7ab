// The bubblewrap argv parser and its mapping to a policy: pure, no kernel.
import fs from 'fs';
import { describe, expect, it } from 'vitest';
import { BwrapError, parseBwrapArgs, ParseIo, splitNul } from '../lib/bwrap/args';
import { HostView, Kind, mapBwrap, realHost } from '../lib/bwrap/policy';
import { codexArgv } from './bwrap/fixtures';

const io = (fds: Record<number, Buffer | string> = {}, uid = 1000): ParseIo => ({
  uid,
  env: { PATH: '/usr/bin', HOME: '/home/u', KEEP: '1' },
  readFd(fd) {
    if (!(fd in fds)) throw Object.assign(new Error('EBADF'), { code: 'EBADF' });
    const v = fds[fd];
    return Buffer.isBuffer(v) ? v : Buffer.from(v);
  },
});

const parse = (argv: string[], fds: Record<number, Buffer | string> = {}, uid = 1000) => parseBwrapArgs(argv, io(fds, uid));
const fails = (argv: string[], message: string, fds: Record<number, Buffer | string> = {}, uid = 1000) => {
  let err: unknown;
  try {
    parse(argv, fds, uid);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BwrapError);
  expect((err as Error).message).toBe(message);
};

/** A host tree: path -> kind (a symlink: '->target'); directories list their children. */
function memHost(tree: Record<string, Kind | string>): HostView {
  const kindOf = (p: string): string | undefined => tree[p];
  const resolve = (p: string): string | undefined => {
    let cur = '';
    for (const part of p.split('/').filter(Boolean)) {
      cur = `${cur}/${part}`;
      const k = kindOf(cur);
      if (k === undefined) return undefined;
      if (k.startsWith('->'))
        cur = resolve(k.slice(2).startsWith('/') ? k.slice(2) : `${cur.slice(0, cur.lastIndexOf('/'))}/${k.slice(2)}`) ?? '';
      if (!cur) return undefined;
    }
    return cur || '/';
  };
  const host: HostView = {
    kind(p, follow) {
      const r = follow ? resolve(p) : p;
      const k = r === '/' ? 'dir' : r && kindOf(r);
      if (k === undefined) return undefined;
      return k.startsWith('->') ? 'symlink' : (k as Kind);
    },
    readdir: (p) =>
      Object.keys(tree)
        .filter((k) => k !== p && k.startsWith(p === '/' ? '/' : `${p}/`) && !k.slice(p === '/' ? 1 : p.length + 1).includes('/'))
        .map((k) => k.slice(k.lastIndexOf('/') + 1)),
    entries: (p) => host.readdir(p).map((name) => ({ name, symlink: host.kind(`${p === '/' ? '' : p}/${name}`, false) === 'symlink' })),
    readlink: (p) => tree[p].slice(2),
    realpath: resolve,
    fdPath: (fd) => {
      if (fd === 7) return '/w/a';
      throw Object.assign(new Error('EBADF'), { code: 'EBADF' });
    },
  };
  return host;
}

const HOST = memHost({
  '/bin': '->usr/bin',
  '/usr': 'dir',
  '/usr/bin': 'dir',
  '/etc': 'dir',
  '/tmp': 'dir',
  '/dev': 'dir',
  '/proc': 'dir',
  '/dev/null': 'other',
  '/w': 'dir',
  '/w/a': 'dir',
  '/w/b': 'dir',
  '/w/a/.gitmodules': 'file',
  '/w/empty': 'dir',
  '/w/a/.git': 'file',
  '/w/sock': 'socket',
  '/w/link': '->a',
});
const map = (argv: string[], fds: Record<number, Buffer | string> = {}) =>
  mapBwrap(parse(argv, fds), { cwd: '/w/a', uid: 1000, host: HOST });

describe('parser', () => {
  it("takes Codex 0.171's argv shape", () => {
    const a = parse(
      [
        ...codexArgv(['/w/a'], {
          beforeRoots: ['--perms', '000', '--tmpfs', '/tmp/codex-daemon-0', '--remount-ro', '/tmp/codex-daemon-0'],
          protect: ['.codex'],
          afterRoot: () => ['--ro-bind-data', '3', '/w/a/.git'],
        }),
        '/x/codex',
        '--sandbox-policy-cwd',
        '/w/a',
      ],
      { 3: '' },
    );
    expect(a.ops.map((o) => o.op)).toEqual([
      'ro-bind',
      'dev',
      'tmpfs',
      'remount-ro',
      'bind',
      'tmpfs',
      'remount-ro',
      'ro-bind-data',
      'proc',
    ]);
    expect(a.ops[2]).toMatchObject({ op: 'tmpfs', perms: 0 });
    expect(a.ops[5]).toMatchObject({ op: 'tmpfs', perms: 0o555 });
    expect(a.consumedFds).toEqual([3]);
    expect(a.argv0).toBe('codex-linux-sandbox');
    expect(a.command).toEqual(['/x/codex', '--sandbox-policy-cwd', '/w/a']);
    expect(a.caps.size).toBe(0);
    expect(a.unshare).toMatchObject({ user: true, pid: true, ipc: true, net: true, uts: false });
  });

  it('applies --setenv, --unsetenv and --clearenv in order', () => {
    expect(parse(['--setenv', 'A', '1', '--unsetenv', 'KEEP', 'true']).env).toEqual({ PATH: '/usr/bin', HOME: '/home/u', A: '1' });
    expect(parse(['--setenv', 'A', '1', '--clearenv', '--setenv', 'B', '2', 'true']).env).toEqual({ B: '2' });
  });

  it('reads --args FD as NUL-separated words, in place', () => {
    const a = parse(['--new-session', '--args', '9', '--', 'true'], { 9: '--bind\0/w/a\0/w/a\0--setenv\0K\0v w\0' });
    expect(a.ops).toEqual([{ op: 'bind', src: '/w/a', dest: '/w/a', try: false }]);
    expect(a.env.K).toBe('v w');
    expect(a.consumedFds).toEqual([9]);
    expect(splitNul(Buffer.from('a\0b'))).toEqual(['a', 'b']);
  });

  it('fails as bubblewrap fails, with its messages', () => {
    fails(['--frobnicate', 'true'], 'Unknown option --frobnicate');
    fails(['--bind', '/a'], '--bind takes two arguments');
    fails(['--ro-bind-try', '/a'], '--ro-bind-try takes two arguments');
    fails(['--tmpfs'], '--tmpfs takes an argument');
    fails(['--args', 'x', 'true'], 'Invalid fd: x');
    fails(['--args', '-1', 'true'], 'Invalid fd: -1');
    fails(['--args', '5', 'true'], "Can't read --args data: Bad file descriptor");
    fails(['--args', '9', 'true'], '--args not supported in arguments file', { 9: '--args\x009\0' });
    fails(['--perms', '0755', '--bind', '/a', '/a', 'true'], '--perms must be followed by an option that creates a file');
    fails(['--perms', '8', '--dir', '/a', 'true'], '--perms takes an octal argument <= 07777');
    fails(['--perms', '1', '--perms', '2', '--dir', '/a', 'true'], '--perms given twice for the same action');
    fails(['--size', '0', '--tmpfs', '/a', 'true'], '--size takes a non-zero number of bytes');
    fails(['--size', '10', '--dir', '/a', 'true'], '--size must be followed by --tmpfs');
    fails(['--argv0', 'a', '--argv0', 'b', 'true'], '--argv0 used multiple times');
    fails(['--cap-add', 'CAP_NOPE', 'true'], 'unknown cap: CAP_NOPE');
    fails(['--as-pid-1', 'true'], 'Specifying --as-pid-1 requires --unshare-pid');
    fails(['--hostname', 'h', 'true'], 'Specifying --hostname requires --unshare-uts');
    fails(['--disable-userns', 'true'], '--disable-userns requires --unshare-user', {}, 0);
    fails(['--seccomp', '3', '--add-seccomp-fd', '4', 'true'], '--add-seccomp-fd cannot be combined with --seccomp');
    fails(
      ['--overlay-src', '/a', 'true'],
      '--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay',
    );
    fails(['--unshare-net'], 'usage');
    fails([], 'usage');
  });

  it('stops at --help/--version wherever they come, and at -- or the first non-option', () => {
    expect(parse(['--unshare-net', '--help', '--nonsense']).action).toBe('help');
    expect(parse(['--version']).action).toBe('version');
    expect(parse(['--', '--dev-bind', '/', '/']).command).toEqual(['--dev-bind', '/', '/']);
    expect(parse(['sh', '--bind']).command).toEqual(['sh', '--bind']);
  });

  it('keeps every capability for uid 0 unless dropped, as bubblewrap does', () => {
    expect(parse(['true'], {}, 0).caps.size).toBeGreaterThan(30);
    expect(parse(['--cap-drop', 'ALL', '--cap-add', 'cap_setfcap', 'true'], {}, 0).caps).toEqual(new Set(['CAP_SETFCAP']));
    expect(parse(['--chdir', '/a', '--chdir', '/b', 'true']).warnings).toEqual(['Only the last --chdir option will take effect']);
  });
});

describe('mapping to a policy', () => {
  it('identity writable binds become write rules (one shared mount), --ro-bind P P read rules', () => {
    const m = map([
      '--ro-bind',
      '/',
      '/',
      '--bind',
      '/w/a',
      '/w/a',
      '--bind',
      '/w/b',
      '/w/b',
      '--ro-bind',
      '/w/a/.gitmodules',
      '/w/a/.gitmodules',
      '--unshare-net',
      'true',
    ]);
    expect(m.sandbox).toMatchObject({ mode: 'workspace-write', writableRoots: [], network: false, tmp: 'none' });
    expect(m.sandbox.rules).toEqual({ '/w/a': 'write', '/w/b': 'write', '/w/a/.gitmodules': 'read' });
  });

  it('masks: /dev/null onto a file, an empty dir onto a dir, tmpfs+remount-ro, empty --ro-bind-data; missing targets become refused names', () => {
    const m = map(
      [
        '--ro-bind',
        '/',
        '/',
        '--bind',
        '/w/a',
        '/w/a',
        '--ro-bind',
        '/dev/null',
        '/w/a/.gitmodules',
        '--ro-bind',
        '/w/empty',
        '/w/b',
        '--perms',
        '555',
        '--tmpfs',
        '/w/a/.codex',
        '--remount-ro',
        '/w/a/.codex',
        '--ro-bind-data',
        '3',
        '/w/a/.git',
        '--ro-bind',
        '/dev/null',
        '/w/a/.bashrc',
        'true',
      ],
      { 3: '' },
    );
    expect(m.sandbox.rules).toEqual({ '/w/a': 'write', '/w/a/.gitmodules': 'none', '/w/b': 'none', '/w/a/.git': 'none' });
    expect(m.guards.map((g) => g.path)).toEqual(['/w/a/.codex', '/w/a/.bashrc']);
  });

  it('a later mount covers what earlier ones put below it', () => {
    const m = map(['--ro-bind', '/', '/', '--bind', '/w/a', '/w/a', '--ro-bind', '/w', '/w', 'true']);
    expect(m.sandbox.rules).toEqual({ '/w': 'read' });
    expect(m.sandbox.mode).toBe('read-only');
    const r = map(['--ro-bind', '/', '/', '--bind', '/w/a', '/w/a', '--remount-ro', '/w/a', 'true']);
    expect(r.sandbox.rules).toEqual({ '/w/a': 'read' });
  });

  it("Codex's preflight (--tmpfs / and binds of system dirs): unbound top-level dirs look empty", () => {
    const m = map([
      '--tmpfs',
      '/',
      '--dev',
      '/dev',
      '--ro-bind',
      '/usr',
      '/usr',
      '--ro-bind',
      '/etc',
      '/etc',
      '--unshare-pid',
      '--proc',
      '/proc',
      'true',
    ]);
    expect(m.sandbox.rules).toEqual({ '/usr': 'read', '/etc': 'read', '/tmp': 'none', '/w': 'none' });
    expect(m.notes.join('\n')).toMatch(/look empty/);
  });

  it('an empty root reads / once, with the types readdir gives: no lstat of each top-level name', () => {
    const asked: string[] = [];
    const host: HostView = { ...HOST, kind: (p, follow) => (asked.push(p), HOST.kind(p, follow)) };
    const m = mapBwrap(parse(['--tmpfs', '/', '--ro-bind', '/usr', '/usr', 'true']), { cwd: '/w', uid: 1000, host });
    expect(m.sandbox.rules).toEqual({ '/usr': 'read', '/etc': 'none', '/tmp': 'none', '/w': 'none' });
    expect(asked.filter((p) => /^\/[^/]+$/.test(p) && p !== '/usr')).toEqual([]);
    // The real host's types are lstat's.
    for (const { name, symlink } of realHost.entries('/'))
      expect([name, symlink]).toEqual([name, fs.lstatSync(`/${name}`).isSymbolicLink()]);
  });

  it('a socket bound onto itself is an allowed unix socket, not a root; --tmpfs /tmp a private /tmp', () => {
    const m = map(['--ro-bind', '/', '/', '--bind', '/w/sock', '/w/sock', '--tmpfs', '/tmp', 'true']);
    expect(m.unixSockets).toEqual(['/w/sock']);
    expect(m.sandbox.rules).toEqual({});
    expect(m.sandbox.tmp).toBe('private');
  });

  it('a --tmpfs not remounted read-only is writable scratch of its --perms mode (0755 by default) and --size', () => {
    const m = map(['--ro-bind', '/', '/', '--tmpfs', '/w/b', '--perms', '0700', '--size', '4096', '--tmpfs', '/w/a', 'true']);
    expect(m.scratch).toEqual([
      { path: '/w/b', mode: 0o755 },
      { path: '/w/a', mode: 0o700, size: 4096 },
    ]);
    expect(m.sandbox.rules).toEqual({});
    expect(m.sandbox.mode).toBe('workspace-write'); // the scratch gets Landlock's write rights
    // Remounted read-only: an empty read-only mask, no scratch.
    const ro = map(['--ro-bind', '/', '/', '--tmpfs', '/w/b', '--remount-ro', '/w/b', 'true']);
    expect(ro.scratch).toEqual([]);
    expect(ro.sandbox.rules).toEqual({ '/w/b': 'none' });
    // /tmp with --perms or --size is scratch too; without, sbx-native's private /tmp.
    expect(map(['--ro-bind', '/', '/', '--perms', '1777', '--tmpfs', '/tmp', 'true']).scratch).toEqual([{ path: '/tmp', mode: 0o1777 }]);
    // A later bind over it covers it.
    expect(map(['--ro-bind', '/', '/', '--tmpfs', '/w/a', '--bind', '/w', '/w', 'true']).scratch).toEqual([]);
  });

  it('inside a fresh tmpfs --dir/--file/--symlink and data binds are made by the helper; --chmod and --remount-ro of a path in it are refused', () => {
    const m = map(
      [
        ...['--ro-bind', '/', '/', '--tmpfs', '/w/a', '--dir', '/w/a/.git', '--perms', '0640', '--file', '3', '/w/a/f'],
        ...['--symlink', '.git', '/w/a/l', '--bind-data', '4', '/w/a/new', '--ro-bind-data', '5', '/w/a/.gitmodules', 'true'],
      ],
      { 3: 'ab', 4: 'c', 5: '' },
    );
    expect(m.setup).toEqual([]);
    expect(m.freshNodes).toEqual([
      { path: '/w/a/.git', kind: 'dir' },
      { path: '/w/a/f', kind: 'file', mode: 0o640, data: '6162' },
      { path: '/w/a/l', kind: 'symlink', target: '.git' },
    ]);
    // Missing on the host or not, and empty read-only data too: a file there (bubblewrap's mode 0600), no host inode involved.
    expect(m.dataFiles).toEqual([
      { path: '/w/a/new', data: '63', mode: 0o600, writable: true },
      { path: '/w/a/.gitmodules', data: '', mode: 0o600, writable: false },
    ]);
    expect(() => map(['--ro-bind', '/', '/', '--tmpfs', '/w/a', '--chmod', '0700', '/w/a/x', 'true'])).toThrow(
      /^--chmod \/w\/a\/x: not supported.*made in the --tmpfs \/w\/a, which is made anew/,
    );
    expect(() => map(['--ro-bind', '/', '/', '--tmpfs', '/w/a', '--remount-ro', '/w/a/x', 'true'])).toThrow(
      /^--remount-ro \/w\/a\/x: not supported.*inside a writable --tmpfs/,
    );
  });

  it('--bind SRC DEST of different paths is a moved root: a write rule at DEST, its source SRC; bad input is refused as bubblewrap refuses it', () => {
    const refused = (argv: string[], re: RegExp) => expect(() => map(argv)).toThrow(re);
    const m = map(['--ro-bind', '/', '/', '--bind', '/w/a', '/w/b', 'true']);
    expect(m.movedRoots).toEqual([{ src: '/w/a', dest: '/w/b' }]);
    expect(m.sandbox.rules).toEqual({ '/w/b': 'write' });
    expect(map(['--ro-bind', '/', '/', '--bind-try', '/w/a', '/w/b', '--bind-try', '/w/gone', '/w/a', 'true']).movedRoots).toEqual([
      { src: '/w/a', dest: '/w/b' },
    ]);
    // A later mount at or above DEST covers it; --remount-ro makes it a read-only view.
    expect(map(['--ro-bind', '/', '/', '--bind', '/w/a', '/w/b', '--tmpfs', '/w', 'true']).movedRoots).toEqual([]);
    const ro = map(['--ro-bind', '/', '/', '--bind', '/w/a', '/w/b', '--remount-ro', '/w/b', 'true']);
    expect([ro.movedRoots, ro.views, ro.sandbox.rules]).toEqual([[], [{ src: '/w/a', dest: '/w/b' }], {}]);
    refused(['--ro-bind', '/', '/', '--bind', '/w/gone', '/w/b', 'true'], /^Can't find source path \/w\/gone: No such file or directory$/);
    refused(['--ro-bind', '/', '/', '--bind', '/w/a', '/w/new', 'true'], /^Can't mkdir \/w\/new: Read-only file system$/);
    refused(
      ['--bind', '/', '/', '--bind', '/w/a', '/w/new', 'true'],
      /^--bind \/w\/a \/w\/new: not supported.*makes no mount points on the host/,
    );
    refused(['--ro-bind', '/', '/', '--bind', '/w/a', '/proc/x', 'true'], /^--bind \/w\/a \/proc\/x: not supported.*its own \/proc/);
    refused(['--ro-bind', '/', '/', '--dev-bind', '/w/a', '/dev/x', 'true'], /^--dev-bind \/w\/a \/dev\/x: not supported/);
    refused(
      ['--ro-bind', '/', '/', '--bind', '/w/a/.gitmodules', '/w/b', 'true'],
      /^--bind \/w\/a\/.gitmodules \/w\/b: not supported.*writable roots are directories/,
    );
    refused(['--ro-bind', '/', '/', '--bind', '/w/a', '/w/a/.gitmodules', 'true'], /^Can't mkdir \/w\/a\/.gitmodules: File exists$/);
    refused(['--ro-bind', '/', '/', '--tmpfs', '/w', '--bind', '/w/a', '/w/b', 'true'], /hidden place or a --tmpfs/);
    refused(['--ro-bind', '/usr', '/usr', '--bind', '/w/a', '/w/b', 'true'], /^--bind \/w\/a \/w\/b: not supported.*hidden place/);
    refused(
      ['--ro-bind', '/', '/', '--bind', '/w/a', '/w/b', '--dir', '/w/b/x', 'true'],
      /^--dir \/w\/b\/x: not supported.*inside the writable bind/,
    );
  });

  it('--ro-bind SRC DEST of different paths is a read-only view; a missing DEST and options inside the view are refused', () => {
    const refused = (argv: string[], re: RegExp) => expect(() => map(argv)).toThrow(re);
    expect(map(['--ro-bind', '/', '/', '--ro-bind', '/w/a', '/w/b', 'true']).views).toEqual([{ src: '/w/a', dest: '/w/b' }]);
    // A later mount at or above DEST covers the view.
    expect(map(['--ro-bind', '/', '/', '--ro-bind', '/w/a', '/w/b', '--bind', '/w', '/w', 'true']).views).toEqual([]);
    refused(['--ro-bind', '/', '/', '--ro-bind', '/w/a', '/w/new', 'true'], /^--ro-bind \/w\/a \/w\/new: not supported.*does not exist/);
    refused(['--ro-bind', '/', '/', '--ro-bind', '/w/a', '/usr/bin/x', 'true'], /does not exist/);
    refused(['--ro-bind', '/', '/', '--ro-bind', '/w/a/.git', '/w/b', 'true'], /^Can't bind mount \/w\/a\/.git on \/w\/b: Is a directory$/);
    refused(
      ['--ro-bind', '/', '/', '--ro-bind', '/w', '/usr', '--ro-bind', '/w/a', '/usr/bin', 'true'],
      /^--ro-bind \/usr\/bin: not supported.*inside the read-only view/,
    );
    refused(['--ro-bind', '/usr', '/usr', '--ro-bind', '/w/a', '/etc', 'true'], /^--ro-bind \/w\/a \/etc: not supported.*hidden place/);
    refused(['--ro-bind', '/', '/', '--tmpfs', '/w', '--ro-bind', '/usr', '/w/a', 'true'], /hidden place or a --tmpfs/);
  });

  it('--uid/--gid map the caller to other ids inside the user namespace', () => {
    expect(map(['--unshare-user', '--uid', '0', '--gid', '5', 'true'])).toMatchObject({ uid: 0, gid: 5 });
    expect(map(['true'])).toMatchObject({ uid: undefined, gid: undefined });
  });

  it("--bind-fd is a bind of the fd's own path; symlinked binds resolve", () => {
    expect(map(['--ro-bind', '/', '/', '--bind-fd', '7', '/w/a', 'true']).sandbox.rules).toEqual({ '/w/a': 'write' });
    expect(map(['--ro-bind', '/', '/', '--bind', '/w/link', '/w/link', 'true']).sandbox.rules).toEqual({ '/w/a': 'write' });
  });

  it('--chdir sets the cwd and PWD; no --unshare-net keeps the network; env and argv0 pass through', () => {
    const m = map(['--ro-bind', '/', '/', '--chdir', '/w/b', '--setenv', 'X', 'y', '--argv0', 'zero', 'cmd', 'arg']);
    expect(m).toMatchObject({ cwd: '/w/b', file: 'cmd', args: ['arg'], argv0: 'zero' });
    expect(m.env).toMatchObject({ PWD: '/w/b', X: 'y' });
    expect(m.sandbox.network).toBe(true);
  });

  it('without --chdir: the old cwd if shown, else $HOME if it exists and is shown, else /', () => {
    expect(map(['--ro-bind', '/', '/', 'true']).cwd).toBe('/w/a');
    // The old cwd is inside a fresh tmpfs; HOME (/home/u) would be shown under / but does not exist.
    const m = map(['--ro-bind', '/', '/', '--tmpfs', '/w', 'true']);
    expect(m.cwd).toBe('/');
    expect(m.env.PWD).toBe('/');
    expect(
      mapBwrap(parse(['--ro-bind', '/', '/', '--tmpfs', '/w', '--setenv', 'HOME', '/usr', 'true']), { cwd: '/w/a', uid: 1000, host: HOST })
        .cwd,
    ).toBe('/usr');
  });

  it('refuses what it cannot give, naming the option', () => {
    const refused = (argv: string[], re: RegExp, fds: Record<number, string> = {}) => {
      expect(() => map(argv, fds)).toThrow(BwrapError);
      expect(() => map(argv, fds)).toThrow(re);
    };
    refused(['--bind', '/w/a', '/w/b', 'true'], /^--bind \/w\/a \/w\/b: not supported/);
    refused(['--bind', '/nope', '/nope', 'true'], /^Can't find source path \/nope: No such file or directory$/);
    refused(['--ro-bind-data', '3', '/w/a/x', 'true'], /^--ro-bind-data 3 \/w\/a\/x: not supported.*DEST must exist/, { 3: 'data' });
    refused(['--bind-data', '3', '/w/a/x', 'true'], /^--bind-data 3 \/w\/a\/x: not supported.*DEST must exist/, { 3: '' });
    // Data (or --bind-data, even empty) over an existing file: a private data file of mode --perms (bubblewrap's default 0600).
    expect(
      map(['--ro-bind', '/', '/', '--perms', '0640', '--ro-bind-data', '3', '/w/a/.gitmodules', 'true'], { 3: 'ab' }).dataFiles,
    ).toEqual([{ path: '/w/a/.gitmodules', data: '6162', mode: 0o640, writable: false }]);
    const writable = map(['--ro-bind', '/', '/', '--bind-data', '3', '/w/a/.gitmodules', 'true'], { 3: '' });
    expect(writable.dataFiles).toEqual([{ path: '/w/a/.gitmodules', data: '', mode: 0o600, writable: true }]);
    expect(writable.sandbox.mode).toBe('workspace-write');
    // A later mount over it covers it.
    expect(map(['--ro-bind', '/', '/', '--bind-data', '3', '/w/a/.gitmodules', '--tmpfs', '/w/a', 'true'], { 3: 'x' }).dataFiles).toEqual(
      [],
    );
    refused(['--cap-drop', 'ALL', '--cap-add', 'CAP_SETFCAP', 'true'], /^--cap-add CAP_SETFCAP: not supported.*allowAllUnixSockets/);
    refused(['--cap-add', 'ALL', 'true'], /^--cap-add ALL: not supported.*CAP_SYS_PTRACE would let it take over the supervisor/);
    refused(['--cap-add', 'sys_ptrace', '--cap-add', '12', 'true'], /^--cap-add CAP_SYS_PTRACE,CAP_NET_ADMIN: not supported/);
    // What a later --cap-drop takes back was not asked for; uid 0's default set is a documented difference, not a refusal.
    expect(map(['--cap-add', 'CAP_SETFCAP', '--cap-drop', 'CAP_SETFCAP', 'true']).notes).not.toContain(expect.stringMatching(/cap/));
    const root = mapBwrap(parse(['--cap-drop', 'CAP_NET_RAW', 'true'], {}, 0), { cwd: '/w/a', uid: 0, host: HOST });
    expect(root.notes).toContain('uid 0 keeps no capabilities (bubblewrap keeps them all unless --cap-drop ALL)');
    expect(map(['--unshare-uts', '--hostname', 'box', 'true']).hostname).toBe('box');
    refused(['--unshare-uts', '--hostname', 'x'.repeat(65), 'true'], /^Can't set hostname to x+: Invalid argument$/);
    refused(['--dir', '/w/new', 'true'], /^--dir \/w\/new: not supported.*empty root/);
    expect(map(['--ro-bind', '/', '/', '--tmpfs', '/tmp', '--dir', '/tmp/x', 'true']).freshNodes).toEqual([
      { path: '/tmp/x', kind: 'dir' },
    ]);
    expect(map(['--ro-bind', '/', '/', '--bind', '/w/a', '/w/a', '--dir', '/w/a/new', '--chmod', '0700', '/w/a', 'true']).setup).toEqual([
      { op: 'dir', dest: '/w/a/new', perms: undefined },
      { op: 'chmod', dest: '/w/a', perms: 0o700 },
    ]);
    refused(['--seccomp', '3', 'true'], /^--seccomp: not supported/);
    refused(['--dev', '/w/dev', 'true'], /^--dev \/w\/dev: not supported/);
    refused(['--bind-fd', '8', '/w/a', 'true'], /^Can't bind fd 8: Bad file descriptor$/);
    expect(map(['--bind-try', '/nope', '/nope', 'true']).sandbox.rules).not.toHaveProperty('/nope');
  });
});
