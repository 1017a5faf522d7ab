// `sbx-native bwrap` against the kernel, with the argv shapes Codex 0.171 and
// sandbox-runtime 0.0.83 emit (captured in docs/bwrap.md). Run as root and as nobody.
import { spawn, spawnSync, SpawnSyncOptions } from 'child_process';
import net from 'net';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, snapshot, tempDir, twoRoots } from './helpers';
import { bwrapCheck } from '../lib/bwrap/doctor';
import { cli, codexArgv as codexShape, installFrontEnd, preflightArgv, runBwrap, srtArgv } from './bwrap/fixtures';

const made: string[] = [];
afterAll(() => made.forEach(rmTree));

// The installed front end, as clients run it: `sbx-native bwrap --install DIR`.
const { binDir, installed, shim } = installFrontEnd('sbx-bwrap-bin-');
made.push(binDir);
const bwrap = (args: string[], opts: SpawnSyncOptions = {}) => runBwrap(shim, args, opts);

function roots() {
  const t = twoRoots();
  made.push(t.H);
  fs.mkdirSync(path.join(t.H, 'outside'));
  return t;
}

/** Codex 0.171's workspace-write argv for roots A (the cwd) and B, network off. */
const codexArgv = (A: string, B: string, extra: string[] = []) => codexShape([A, B], { extra });

describe("doctor's Codex-acceptance check", () => {
  it("an installed bwrap under /tmp is sandbox-runtime's but not Codex's (a writable root); one in a 0755 directory elsewhere, first on PATH, is both", () => {
    const tmpCheck = bwrapCheck({ PATH: `${binDir}:/usr/bin` }, '/');
    expect(tmpCheck.ok).toBe(false);
    expect(tmpCheck.detail).toMatch(/Codex would not: .* is under a writable root \/tmp/);
    const elsewhere = fs.mkdtempSync('/var/tmp/sbx-bwrap-doctor-');
    made.push(elsewhere);
    fs.chmodSync(elsewhere, 0o755);
    expect(spawnSync(process.execPath, [cli, 'bwrap', '--install', elsewhere]).status).toBe(0);
    expect(bwrapCheck({ PATH: `${elsewhere}:/usr/bin` }, repoRoot)).toMatchObject({
      ok: true,
      detail: expect.stringContaining(`Codex (from ${repoRoot}) would use it`),
    });
    expect(bwrapCheck({ PATH: '/usr/bin' }, '/').ok).toBe(null);
    // A directory others may write is refused outright.
    const open = tempDir();
    made.push(open);
    fs.chmodSync(open, 0o777);
    const r = spawnSync(process.execPath, [cli, 'bwrap', '--install', open], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('writable by others');
    expect(fs.readdirSync(open)).toEqual([]);
  });
});

describe('the installed bwrap inside a writable root', () => {
  it('is read-only in the sandboxes it starts: it cannot be rewritten or replaced', () => {
    const { A } = roots();
    fs.mkdirSync(path.join(A, 'bin'));
    expect(spawnSync(process.execPath, [cli, 'bwrap', '--install', path.join(A, 'bin')]).status).toBe(0);
    const mine = path.join(A, 'bin', 'bwrap');
    const before = fs.readFileSync(mine, 'utf8');
    const r = spawnSync(
      mine,
      ['--ro-bind', '/', '/', '--bind', A, A, '--', 'sh', '-c', `echo x >> ${mine}; rm -f ${mine}; mv ${mine} ${A}/moved; echo done`],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toContain(`${mine}: Read-only file system`);
    expect(r.stderr).toMatch(/rm: cannot remove .*: (Device or resource busy|Read-only file system)/);
    expect(fs.readFileSync(mine, 'utf8')).toBe(before);
    expect(fs.existsSync(path.join(A, 'moved'))).toBe(false);
  });
});

describe('Codex argv shape', () => {
  it('the installed bwrap is a script that names Node and sbx-native by absolute path', () => {
    expect(installed.status).toBe(0);
    expect(installed.stdout).toContain(`wrote ${shim}`);
    expect(fs.readFileSync(shim, 'utf8')).toContain(
      `exec '${fs.realpathSync(process.execPath)}' '${path.join(repoRoot, 'dist', 'cli-entry.js')}' bwrap "$@"`,
    );
    expect(fs.statSync(shim).mode & 0o777).toBe(0o755);
  });

  it('identity binds of two roots on one filesystem share a mount: ln and rename keep the inode; writes elsewhere fail with EROFS', () => {
    const { H, A, B } = roots();
    fs.writeFileSync(path.join(A, 'f'), 'data');
    fs.writeFileSync(path.join(A, 'g'), 'data');
    const ino = fs.statSync(path.join(A, 'g')).ino;
    const outside = snapshot(path.join(H, 'outside'));
    const r = bwrap(
      [
        ...codexArgv(A, B),
        'sh',
        '-c',
        `echo $0; ln ${A}/f ${B}/f && stat -c %h ${B}/f; mv ${A}/g ${B}/g && echo moved; echo x > ${H}/outside/x; echo x > /etc/sbx-bwrap-probe`,
      ],
      { cwd: A },
    );
    expect(r.stderr).toContain(`${H}/outside/x: Read-only file system`);
    expect(r.stderr).toContain('/etc/sbx-bwrap-probe: Read-only file system');
    expect(r.stdout).toBe('codex-linux-sandbox\n2\nmoved\n');
    expect(fs.statSync(path.join(B, 'f')).nlink).toBe(2);
    expect(fs.statSync(path.join(B, 'g')).ino).toBe(ino);
    expect(snapshot(path.join(H, 'outside'))).toEqual(outside);
    expect(fs.existsSync('/etc/sbx-bwrap-probe')).toBe(false);
  });

  it('the masks of missing .codex/.agents hold (EROFS) and nothing is made on the host; an existing .git bound read-only stays read-only', () => {
    const { A, B } = roots();
    fs.mkdirSync(path.join(A, '.git'));
    fs.writeFileSync(path.join(A, '.git', 'config'), '[core]\n');
    const before = snapshot(A);
    const r = bwrap(
      [
        ...codexArgv(A, B, ['--ro-bind', `${A}/.git`, `${A}/.git`]),
        'sh',
        '-c',
        'mkdir .codex; echo x > .agents; echo x >> .git/config; echo done',
      ],
      { cwd: A },
    );
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toMatch(/mkdir: cannot create directory '?.?\.codex.?'?: Read-only file system/);
    expect(r.stderr).toContain('.agents: Read-only file system');
    expect(r.stderr).toContain('.git/config: Read-only file system');
    expect(snapshot(A)).toEqual(before);
    expect(fs.readdirSync(B)).toEqual([]);
  });

  it('an empty .git marker masked with --ro-bind-data 3 (fd 3 = /dev/null) reads as empty and cannot be written; fds 4 and 6 reach the command at their numbers', () => {
    const { A, B } = roots();
    fs.writeFileSync(path.join(A, '.git'), '');
    const before = snapshot(A);
    const null3 = fs.openSync('/dev/null', 'r');
    const four = fs.openSync(path.join(A, 'f4'), 'w');
    const six = fs.openSync(path.join(A, 'f6'), 'w');
    try {
      const r = bwrap(
        [
          ...codexArgv(A, B, ['--ro-bind-data', '3', `${A}/.git`]),
          'sh',
          '-c',
          'echo x > .git; echo four >&4; echo six >&6; [ -e /proc/self/fd/3 ] && echo three-open; echo ok',
        ],
        { cwd: A, stdio: ['ignore', 'pipe', 'pipe', null3, four, 'ignore', six] },
      );
      expect(r.stderr).toContain('.git: Read-only file system');
      expect(r.stdout).toBe('ok\n'); // fd 3 was bubblewrap's to read and close: not open inside
    } finally {
      [null3, four, six].forEach((fd) => fs.closeSync(fd));
    }
    expect(fs.readFileSync(path.join(A, 'f4'), 'utf8')).toBe('four\n');
    expect(fs.readFileSync(path.join(A, 'f6'), 'utf8')).toBe('six\n');
    expect(fs.readFileSync(path.join(A, '.git'), 'utf8')).toBe('');
    expect(snapshot(A)['.git']).toEqual(before['.git']);
  });

  it('network off holds: no route out, loopback only', () => {
    const { A, B } = roots();
    const r = bwrap(
      [
        ...codexArgv(A, B),
        process.execPath,
        '-e',
        `require('net').connect(443, '1.1.1.1').on('error', (e) => { console.log(e.code); process.exit(0); }).on('connect', () => console.log('connected'))`,
      ],
      { cwd: A },
    );
    expect(r.stdout.trim()).toBe('ENETUNREACH');
  });

  it('--clearenv leaves the command PWD alone, as bubblewrap does (no SBX_NATIVE_SANDBOX either); later --setenv adds to it; without it the marker is there', () => {
    const { A } = roots();
    const env = { ...process.env, FOO: 'wrong', SBX_NATIVE_SANDBOX: 'caller' };
    const cleared = bwrap(['--ro-bind', '/', '/', '--bind', A, A, '--chdir', A, '--clearenv', '/usr/bin/env'], { env });
    expect(cleared).toMatchObject({ code: 0, stdout: `PWD=${A}\n` });
    const set = bwrap(['--ro-bind', '/', '/', '--bind', A, A, '--chdir', A, '--clearenv', '--setenv', 'A', 'b', '/usr/bin/env'], { env });
    expect(set.stdout.split('\n').sort()).toEqual(['', 'A=b', `PWD=${A}`]);
    const kept = bwrap(['--ro-bind', '/', '/', '--bind', A, A, '/usr/bin/env'], { env });
    expect(
      kept.stdout
        .split('\n')
        .filter((l) => /^(FOO|SBX_NATIVE_SANDBOX)=/.test(l))
        .sort(),
    ).toEqual(['FOO=wrong', 'SBX_NATIVE_SANDBOX=1']);
  });

  it('the preflight (--tmpfs / and read-only system dirs) runs /usr/bin/true; unbound top-level dirs look empty', () => {
    const pre = preflightArgv();
    expect(bwrap([...pre, '/usr/bin/true'])).toMatchObject({ code: 0, stderr: '' });
    const r = bwrap([...pre, '/bin/sh', '-c', '(ls -A /home; ls -A /root; ls -A /var) | wc -l; ls /usr/bin/env']);
    expect(r.stdout).toBe('0\n/usr/bin/env\n');
  });
});

function bwrapAsync(
  args: string[],
  opts: import('child_process').SpawnOptions,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(shim, args, opts);
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (d) => (stdout += d));
    c.stderr!.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sandbox-runtime argv shape', () => {
  it('--args from fd 9, --setenv/--unsetenv, a socket bound onto itself is connectable, /dev/null masks; a missing mask target is refused and not made', async () => {
    const { H, A, B } = roots();
    fs.writeFileSync(path.join(A, '.gitconfig'), 'secret');
    const sock = path.join(H, 'srt.sock');
    const server = net.createServer((c) => c.end('pong')).listen(sock);
    await new Promise((r) => server.once('listening', r));
    const words = srtArgv(A, B, {
      socket: sock,
      setenv: [
        ['SRT_V', 'one two'],
        ['GONE', 'x'],
      ],
      unsetenv: ['GONE'],
    });
    const argsFile = path.join(H, 'args');
    fs.writeFileSync(argsFile, words.map((w) => `${w}\0`).join(''));
    const nine = fs.openSync(argsFile, 'r');
    const before = snapshot(A);
    try {
      const script = `cat .gitconfig; echo x > .bashrc; echo "$SRT_V\${GONE-unset}"; ${process.execPath} -e "require('net').connect('${sock}').on('data', (d) => console.log(String(d)))"`;
      const r = await bwrapAsync(['--args', '9', '--', 'sh', '-c', script], {
        cwd: A,
        stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', nine],
      });
      expect(r.stderr).toContain('.bashrc: Read-only file system');
      expect(r.stdout).toBe('one twounset\npong\n');
      expect(r.code).toBe(0);
    } finally {
      fs.closeSync(nine);
      server.close();
    }
    expect(snapshot(A)).toEqual(before); // no .bashrc placeholder left behind
  });
});

describe('a --tmpfs without --remount-ro, and --uid/--gid', () => {
  it('the tmpfs is writable scratch of the --perms mode and --size; the host directory under it is untouched, and outside it stays read-only (EROFS)', () => {
    const { H, A } = roots();
    fs.writeFileSync(path.join(A, 'kept'), 'host');
    const before = snapshot(A);
    const r = bwrap(
      [
        '--ro-bind',
        '/',
        '/',
        '--perms',
        '0710',
        '--size',
        '65536',
        '--tmpfs',
        A,
        '--unshare-pid',
        '--',
        'sh',
        '-c',
        `cd ${A} && ls -A | wc -l && stat -c %a . && echo new > new && cat new && mkdir d && mv new d/moved && ln d/moved hard && stat -c %h hard; ` +
          `head -c 100000 /dev/zero > big 2>/dev/null || echo full; echo x > ${H}/outside/x; echo end`,
      ],
      { cwd: '/' },
    );
    expect(r.stdout).toBe('0\n710\nnew\n2\nfull\nend\n');
    expect(r.stderr).toContain(`${H}/outside/x: Read-only file system`);
    expect(r.code).toBe(0);
    expect(snapshot(A)).toEqual(before); // what was written there vanished with the sandbox
    expect(fs.readdirSync(path.join(H, 'outside'))).toEqual([]);
  });

  it('a tmpfs inside a writable root covers that directory only; the next sandbox sees the host directory again', () => {
    const { A } = roots();
    fs.mkdirSync(path.join(A, 'cache'));
    fs.writeFileSync(path.join(A, 'cache', 'f'), 'host');
    const argv = ['--ro-bind', '/', '/', '--bind', A, A, '--tmpfs', `${A}/cache`, '--'];
    const r = bwrap([...argv, 'sh', '-c', `ls -A ${A}/cache | wc -l; echo s > ${A}/cache/s && echo w > ${A}/w && echo ok`]);
    expect(r).toMatchObject({ stdout: '0\nok\n', stderr: '', code: 0 });
    expect(fs.readdirSync(path.join(A, 'cache'))).toEqual(['f']);
    expect(fs.readFileSync(path.join(A, 'w'), 'utf8')).toBe('w\n');
    expect(bwrap(['--ro-bind', '/', '/', '--', 'cat', `${A}/cache/f`]).stdout).toBe('host');
  });

  it('--ro-bind SRC DEST shows what the sandbox shows at SRC, read-only (EROFS), masks included; the host is unchanged', () => {
    const { H, A } = roots();
    fs.writeFileSync(path.join(A, '.gitconfig'), 'secret');
    fs.writeFileSync(path.join(A, 'f'), 'data');
    const view = path.join(H, 'outside');
    const before = { a: snapshot(A), view: snapshot(view) };
    const r = bwrap([
      '--ro-bind',
      '/',
      '/',
      '--bind',
      A,
      A,
      '--ro-bind',
      '/dev/null',
      `${A}/.gitconfig`,
      '--ro-bind',
      A,
      view,
      '--unshare-pid',
      '--',
      'sh',
      '-c',
      `cat ${view}/f; echo; wc -c < ${view}/.gitconfig; echo x > ${view}/new; echo y >> ${view}/f; echo a > ${A}/a && cat ${view}/a; echo end`,
    ]);
    expect(r.stdout).toBe('data\n0\na\nend\n'); // the view shows the root's new file at once: the same inodes
    expect(r.stderr).toContain(`${view}/new: Read-only file system`);
    expect(r.stderr).toContain(`${view}/f: Read-only file system`);
    expect(r.code).toBe(0);
    expect(snapshot(view)).toEqual(before.view);
    expect(fs.readFileSync(path.join(A, 'f'), 'utf8')).toBe('data');
    expect(fs.readFileSync(path.join(A, '.gitconfig'), 'utf8')).toBe('secret');
    expect(fs.readFileSync(path.join(A, 'a'), 'utf8')).toBe('a\n');
  });

  it('--uid/--gid: the command has those ids inside; what it makes in a writable root belongs to the caller on the host', () => {
    const { A } = roots();
    const r = bwrap([
      '--ro-bind',
      '/',
      '/',
      '--bind',
      A,
      A,
      '--unshare-user',
      '--uid',
      '4321',
      '--gid',
      '765',
      '--',
      'sh',
      '-c',
      `id -u; id -g; touch ${A}/made; stat -c %u:%g ${A}/made`,
    ]);
    expect(r).toMatchObject({ stdout: '4321\n765\n4321:765\n', stderr: '', code: 0 });
    const st = fs.statSync(path.join(A, 'made'));
    expect([st.uid, st.gid]).toEqual([process.getuid!(), process.getgid!()]);
  });
});

describe("bad argv: bubblewrap's message, exit 1, nothing run, nothing left", () => {
  const marker = () => {
    const d = tempDir();
    made.push(d);
    return path.join(d, 'ran');
  };
  const cases: [string, (m: string) => string[], RegExp][] = [
    ['an unknown option', (m) => ['--ro-bind', '/', '/', '--frob', 'sh', '-c', `touch ${m}`], /^bwrap: Unknown option --frob\n$/],
    ['a missing argument', () => ['--ro-bind', '/'], /^bwrap: --ro-bind takes two arguments\n$/],
    [
      'an --args fd that is not open',
      (m) => ['--args', '97', 'sh', '-c', `touch ${m}`],
      /^bwrap: Can't read --args data: Bad file descriptor\n$/,
    ],
    [
      'an unsupported option',
      (m) => ['--ro-bind', '/', '/', '--mqueue', '/dev/mqueue', 'sh', '-c', `touch ${m}`],
      /^bwrap: --mqueue \/dev\/mqueue: not supported by sbx-native's bwrap front end/,
    ],
    [
      'a --dir where the sandbox is read-only',
      (m) => ['--ro-bind', '/', '/', '--dir', '/etc/sbx-bwrap-nope', 'sh', '-c', `touch ${m}`],
      /^bwrap: Can't mkdir \/etc\/sbx-bwrap-nope: Read-only file system\n$/,
    ],
    [
      'a writable bind of one path onto another that does not exist, in a read-only place',
      (m) => ['--ro-bind', '/', '/', '--bind', '/usr', '/opt/sbx-bwrap-nope', 'sh', '-c', `touch ${m}`],
      /^bwrap: Can't mkdir \/opt\/sbx-bwrap-nope: Read-only file system\n$/,
    ],
    [
      'a writable bind of one path into /proc',
      (m) => ['--ro-bind', '/', '/', '--bind', '/usr', '/proc/sys', 'sh', '-c', `touch ${m}`],
      /^bwrap: --bind \/usr \/proc\/sys: not supported by sbx-native's bwrap front end \(the sandbox has its own \/proc/,
    ],
    [
      'an --info-fd that is not open',
      (m) => ['--ro-bind', '/', '/', '--info-fd', '97', 'sh', '-c', `touch ${m}`],
      /^bwrap: Can't use --info-fd 97: Bad file descriptor\n$/,
    ],
    [
      'a --file fd that is not open',
      (m) => ['--ro-bind', '/', '/', '--file', '97', '/tmp/x', 'sh', '-c', `touch ${m}`],
      /^bwrap: Can't read --file data from fd 97: Bad file descriptor\n$/,
    ],
    [
      'a missing bind source',
      (m) => ['--ro-bind', '/', '/', '--bind', '/nonexistent-src', '/nonexistent-src', 'sh', '-c', `touch ${m}`],
      /^bwrap: Can't find source path \/nonexistent-src: No such file or directory\n$/,
    ],
  ];
  for (const [what, argv, re] of cases) {
    it(what, () => {
      const m = marker();
      const r = bwrap(argv(m));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(re);
      expect(fs.existsSync(m)).toBe(false);
    });
  }

  it('--args inside an --args file (a loop)', () => {
    const d = tempDir();
    made.push(d);
    fs.writeFileSync(path.join(d, 'a'), '--args\x009\0');
    const nine = fs.openSync(path.join(d, 'a'), 'r');
    try {
      const r = bwrap(['--args', '9', 'sh', '-c', `touch ${d}/ran`], {
        stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', nine],
      });
      expect(r).toMatchObject({ code: 1, stderr: 'bwrap: --args not supported in arguments file\n' });
    } finally {
      fs.closeSync(nine);
    }
    expect(fs.readdirSync(d)).toEqual(['a']);
  });

  it('no command: the usage on stderr, exit 1; --help and --version on stdout, exit 0', () => {
    expect(bwrap(['--unshare-net'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^usage: bwrap /) });
    expect(bwrap(['--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^usage: ${shim} `)) });
    expect(bwrap(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('--argv0 VALUE') });
    expect(bwrap(['--version'])).toMatchObject({ code: 0, stdout: 'bubblewrap 0.11.1\n' });
  });
});

describe('--dir, --symlink, --file, --chmod', () => {
  it('are made inside the sandbox, in order, before the command: in a writable root they stay, as with bubblewrap', () => {
    const { A } = roots();
    const three = fs.openSync(path.join(A, '..', 'data'), 'w+');
    fs.writeSync(three, 'payload');
    const src = fs.openSync(path.join(A, '..', 'data'), 'r');
    try {
      const r = bwrap(
        [
          '--ro-bind',
          '/',
          '/',
          '--bind',
          A,
          A,
          '--perms',
          '0700',
          '--dir',
          `${A}/d/e`,
          '--symlink',
          '../t',
          `${A}/l`,
          '--perms',
          '0640',
          '--file',
          '3',
          `${A}/f`,
          '--chmod',
          '0711',
          `${A}/d`,
          '--',
          'sh',
          '-c',
          `stat -c '%a %n' ${A}/d ${A}/d/e ${A}/f; readlink ${A}/l; cat ${A}/f`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe', src] },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`711 ${A}/d
700 ${A}/d/e
640 ${A}/f
../t
payload`);
    } finally {
      fs.closeSync(three);
      fs.closeSync(src);
    }
    expect(fs.readlinkSync(path.join(A, 'l'))).toBe('../t');
    expect(fs.readFileSync(path.join(A, 'f'), 'utf8')).toBe('payload');
  });

  it("parents made for a --dir or --file narrow to the classes its --perms gives any access, as bubblewrap's do", () => {
    const { A } = roots();
    const cases: [string | undefined, string][] = [
      [undefined, '755'],
      ['1777', '755'],
      ['0644', '755'],
      ['0750', '750'],
      ['0640', '750'],
      ['0700', '700'],
      ['0600', '700'],
      ['0705', '705'],
      ['0604', '705'],
      ['0000', '700'],
    ];
    const args = ['--ro-bind', '/', '/', '--bind', A, A];
    for (const [perms] of cases) args.push(...(perms ? ['--perms', perms] : []), '--dir', `${A}/p-${perms ?? 'none'}/dir`);
    args.push('--perms', '0600', '--file', '3', `${A}/pf/f`);
    const mask = process.umask(0o022);
    const data = fs.openSync('/dev/null', 'r');
    try {
      const r = bwrap([...args, '--', 'true'], { stdio: ['ignore', 'pipe', 'pipe', data] });
      expect(r).toMatchObject({ code: 0, stderr: '' });
    } finally {
      process.umask(mask);
      fs.closeSync(data);
    }
    const mode = (p: string) => (fs.statSync(path.join(A, p)).mode & 0o7777).toString(8);
    expect(cases.map(([perms]) => [perms, mode(`p-${perms ?? 'none'}`)])).toEqual(cases);
    expect(mode('pf')).toBe('700');
  });

  it('an existing different symlink fails as bubblewrap fails; the same one is accepted', () => {
    const { A } = roots();
    fs.symlinkSync('/dev/null', path.join(A, 'l'));
    expect(bwrap(['--ro-bind', '/', '/', '--bind', A, A, '--symlink', '/dev/null', `${A}/l`, 'true'])).toMatchObject({
      code: 0,
      stderr: '',
    });
    const r = bwrap(['--ro-bind', '/', '/', '--bind', A, A, '--symlink', 'other', `${A}/l`, 'sh', '-c', `touch ${A}/ran`]);
    expect(r).toMatchObject({ code: 1, stderr: `bwrap: Can't make symlink at ${A}/l: existing destination is /dev/null\n` });
    expect(fs.existsSync(path.join(A, 'ran'))).toBe(false);
  });
});

describe('--sbx-dry-run', () => {
  it('prints the parsed operations, the differences, the refused names, the policy and the plan, and runs nothing', () => {
    const { A, B } = roots();
    const r = bwrap(['--sbx-dry-run', ...codexArgv(A, B), 'sh', '-c', `touch ${A}/ran`], { cwd: A });
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.bwrap.ops[0]).toEqual({ op: 'ro-bind', src: '/', dest: '/', try: false });
    expect(d.differences).toContain(
      "--as-pid-1: the command runs as pid 2 under sbx-native's init (pid 1), which reaps, forwards signals and supervises",
    );
    // Why not pid 1, from this plan: the unix-socket rule always; here also the shared mount's metadata checks, the missing protected names, no new repository, git control.
    expect(d.asPid1.commandIsPid1).toBe(false);
    expect(d.asPid1.initEnforces).toEqual([
      expect.stringMatching(/^the unix-socket rule/),
      expect.stringMatching(/^metadata checks/),
      expect.stringMatching(/^protected names that do not exist yet cannot be made \(\d+\)$/),
      'no new repository (.git, HEAD) in a writable area',
      expect.stringMatching(/^directories leading to protected paths/),
      "git control: what makes git run code in the repositories' git directories",
    ]);
    expect(d.refusedNames).toEqual([`${A}/.codex`, `${A}/.agents`, `${B}/.codex`, `${B}/.agents`]);
    expect(d.guarded.map((g: { why: string }) => g.why)).toEqual(['the installed bwrap', 'the Node that runs the installed bwrap']);
    expect(d.policy.writableRoots).toEqual([A, B]);
    expect(d.plan.layout.groups.map((g: { roots: string[] }) => g.roots)).toEqual([[A, B]]); // one shared mount
    expect(d.plan.steps.find((s: { op: string }) => s.op === 'exec').args.slice(1)).toEqual([
      'codex-linux-sandbox',
      '-c',
      `touch ${A}/ran`,
    ]);
    expect(fs.existsSync(path.join(A, 'ran'))).toBe(false);
  });
});

describe('exit statuses and status fds', () => {
  it("the command's exit code; 128+N for a signal; a command not found is bubblewrap's execvp error, exit 1", () => {
    const base = ['--ro-bind', '/', '/', '--unshare-pid', '--'];
    expect(bwrap([...base, 'sh', '-c', 'exit 42']).code).toBe(42);
    expect(bwrap([...base, 'sh', '-c', 'kill -9 $$']).code).toBe(137);
    expect(bwrap([...base, 'no-such-command-sbx'], { env: { ...process.env, PATH: '/usr/bin:/bin' } })).toMatchObject({
      code: 1,
      stderr: 'bwrap: execvp no-such-command-sbx: No such file or directory\n',
    });
  });

  it("--hostname sets the name in the sandbox's own UTS namespace; the host keeps its own", () => {
    const host = fs.readFileSync('/proc/sys/kernel/hostname', 'utf8');
    const r = bwrap(['--ro-bind', '/', '/', '--unshare-uts', '--hostname', 'sbx-box', '--', 'cat', '/proc/sys/kernel/hostname']);
    expect(r).toMatchObject({ code: 0, stdout: 'sbx-box\n' });
    expect(fs.readFileSync('/proc/sys/kernel/hostname', 'utf8')).toBe(host);
  });

  it("--die-with-parent: the front end dies with its own parent, as bubblewrap's launcher does, and takes the sandbox along", async () => {
    const marker = `${process.pid}.${Date.now() % 100000}`;
    const d = tempDir();
    made.push(d);
    const log = path.join(d, 'stderr');
    // A parent that starts the front end and is then killed with SIGKILL (a client that crashes).
    const parent = spawn('sh', ['-c', `${shim} --ro-bind / / --die-with-parent -- sleep 3${marker} 2>${log} & wait`], { stdio: 'ignore' });
    // The sandbox's sleep itself (its argv begins with it), not the front end, whose argv holds it too.
    const running = () =>
      fs
        .readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .some((d) => {
          try {
            return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').startsWith(`sleep\u00003${marker}\u0000`);
          } catch {
            return false;
          }
        });
    try {
      for (let i = 0; i < 200 && !running(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(running(), `the front end's stderr: ${fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '(none)'}`).toBe(true);
      parent.kill('SIGKILL');
      let gone = false;
      for (let i = 0; i < 100 && !gone; i++) {
        await new Promise((r) => setTimeout(r, 50));
        gone = !running();
      }
      expect(gone).toBe(true);
    } finally {
      // A failure above must not leave the front end and its sandbox behind for later tests to find.
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    }
  });

  it("--lock-file: init holds a read lock on the file while the sandbox runs (a host writer lock gets EAGAIN), through the command's own opens of it, and not after", async () => {
    const d = tempDir();
    made.push(d);
    const lock = path.join(d, 'lock');
    fs.writeFileSync(lock, '');
    const fifo = path.join(d, 'go');
    spawnSync('mkfifo', [fifo]);
    // What a host tool asks: an exclusive POSIX lock, without waiting.
    const tryLock = () =>
      spawnSync(
        'python3',
        [
          '-c',
          `import fcntl,os\nfd=os.open(${JSON.stringify(lock)},os.O_RDWR)\ntry:\n  fcntl.lockf(fd,fcntl.LOCK_EX|fcntl.LOCK_NB); print('free')\nexcept OSError as e: print(e.errno)`,
        ],
        {
          encoding: 'utf8',
        },
      ).stdout.trim();
    expect(tryLock()).toBe('free');
    // The command opens, writes and closes the file itself (init makes those opens for it): the lock must stay.
    const child = spawn(
      shim,
      [
        '--ro-bind',
        '/',
        '/',
        '--bind',
        d,
        d,
        '--lock-file',
        lock,
        '--',
        'sh',
        '-c',
        `echo x >> ${lock}; cat ${lock} > /dev/null; echo up; read x < ${fifo}`,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    try {
      expect(tryLock()).toBe(String(os.constants.errno.EAGAIN));
    } finally {
      fs.writeFileSync(fifo, 'x\n');
    }
    expect(await exited).toBe(0);
    expect(tryLock()).toBe('free');
    expect(fs.readFileSync(lock, 'utf8')).toBe('x\n');
  });

  it('--lock-file of a missing file fails like bubblewrap (exit 1, the path named) and runs nothing', () => {
    const d = tempDir();
    made.push(d);
    const before = snapshot(d);
    const r = bwrap(['--ro-bind', '/', '/', '--bind', d, d, '--lock-file', path.join(d, 'none'), '--', 'touch', path.join(d, 'ran')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`open lock file ${path.join(d, 'none')}: ENOENT`);
    expect(snapshot(d)).toEqual(before);
    expect(bwrap(['--ro-bind', '/', '/', '--lock-file', 'relative', '--', 'true'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--lock-file relative'),
    });
  });

  it("--info-fd names the sandbox's pid 1 and its namespaces as bubblewrap does, read while the sandbox runs, also where the layout hides /proc", async () => {
    const d = tempDir();
    made.push(d);
    const fifo = path.join(d, 'go');
    spawnSync('mkfifo', [fifo]);
    const infoPath = path.join(d, 'info');
    const info = fs.openSync(infoPath, 'w');
    // Codex's preflight shape: `--tmpfs /` and a few read-only binds, no /proc until init mounts its own.
    const child = spawn(shim, ['--info-fd', '3', ...preflightArgv([path.dirname(d)], false), 'sh', '-c', `read x < ${fifo}`], {
      stdio: ['ignore', 'ignore', 'pipe', info],
    });
    fs.closeSync(info);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    try {
      let text = '';
      for (let i = 0; i < 200 && !text.endsWith('}\n'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        text = fs.readFileSync(infoPath, 'utf8');
      }
      const i = JSON.parse(text);
      // bubblewrap's keys: no cgroup one without --unshare-cgroup, never the user one.
      expect(Object.keys(i)).toEqual(['child-pid', 'ipc-namespace', 'mnt-namespace', 'net-namespace', 'pid-namespace', 'uts-namespace']);
      const pid = i['child-pid'];
      // The host's pid of the sandbox's pid 1 (init), and the namespaces it is in.
      expect(fs.readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(new RegExp(`^NSpid:\\s+${pid}\\s+1$`, 'm'));
      for (const ns of ['ipc', 'mnt', 'net', 'pid', 'uts'])
        expect(i[`${ns}-namespace`]).toBe(Number(fs.statSync(`/proc/${pid}/ns/${ns}`).ino));
      expect(Number(fs.statSync(`/proc/${pid}/ns/mnt`).ino)).not.toBe(Number(fs.statSync('/proc/self/ns/mnt').ino));
    } finally {
      fs.writeFileSync(fifo, 'x\n');
    }
    expect(await exited).toBe(0);
  });

  it('--json-status-fd has the namespace ids even when the command ends at once', () => {
    const d = tempDir();
    made.push(d);
    for (let n = 0; n < 5; n++) {
      const json = fs.openSync(path.join(d, `json${n}`), 'w');
      const r = bwrap(['--ro-bind', '/', '/', '--unshare-all', '--json-status-fd', '3', '--', 'true'], {
        stdio: ['ignore', 'pipe', 'pipe', json],
      });
      fs.closeSync(json);
      expect(r.code, r.stderr).toBe(0);
      const lines = fs
        .readFileSync(path.join(d, `json${n}`), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(Object.keys(lines[0])).toEqual([
        'child-pid',
        'cgroup-namespace',
        'ipc-namespace',
        'mnt-namespace',
        'net-namespace',
        'pid-namespace',
        'uts-namespace',
      ]);
      expect(lines[1]).toEqual({ 'exit-code': 0 });
    }
  });

  it("--info-fd and --json-status-fd give the child pid, namespace ids matching the sandbox's own, and the exit code", () => {
    const d = tempDir();
    made.push(d);
    const info = fs.openSync(path.join(d, 'info'), 'w');
    const json = fs.openSync(path.join(d, 'json'), 'w');
    try {
      const r = bwrap(
        [
          '--ro-bind',
          '/',
          '/',
          '--unshare-pid',
          '--info-fd',
          '3',
          '--json-status-fd',
          '4',
          '--',
          'sh',
          '-c',
          'stat -L -c %i /proc/self/ns/mnt; sleep 0.3; exit 3',
        ],
        { stdio: ['ignore', 'pipe', 'pipe', info, json] },
      );
      expect(r.code).toBe(3);
      const i = JSON.parse(fs.readFileSync(path.join(d, 'info'), 'utf8'));
      expect(i['child-pid']).toBeGreaterThan(1);
      expect(String(i['mnt-namespace'])).toBe(r.stdout.trim());
      const lines = fs
        .readFileSync(path.join(d, 'json'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines[0]['child-pid']).toBe(i['child-pid']);
      expect(lines[1]).toEqual({ 'exit-code': 3 });
    } finally {
      fs.closeSync(info);
      fs.closeSync(json);
    }
  });
});
