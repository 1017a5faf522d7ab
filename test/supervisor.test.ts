// The supervisor performs name-making and metadata syscalls for the command
// (docs/supervisor.md). Tools must not notice: these tests pin down that the
// answers are the kernel's own (fd numbers and flags, umask, symlinks,
// trailing slashes, FIFOs, /dev/stdout and friends, threads), and that what
// would let a command slip past it (nested Landlock, a listener of its own,
// openat2) is refused.
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepare } from '../lib/spawn';
import { spawnSync } from 'child_process';
import { rmTree, sh, snapshot, tempDir, userLabel } from './helpers';
import { j, PY, py, pyPrelude } from './security/lib';

describe(`supervised syscalls behave like the kernel's (as ${userLabel})`, () => {
  let P: string;
  beforeEach(() => {
    P = tempDir('sbx-super-');
  });
  afterEach(() => rmTree(P));
  const sandbox = () => ({ writableRoots: [P], tmp: 'none' as const });

  it('is on in a workspace with missing protected names, with init confined before it forks the command', () => {
    const steps = prepare('/bin/true', [], { sandbox: sandbox(), cwd: P }).plan.steps.map((s) => s.op);
    const at = (op: string) => steps.indexOf(op);
    expect(at('supervise')).toBeGreaterThan(at('landlock_restrict'));
    expect(at('supervise')).toBeGreaterThan(at('drop_caps'));
    expect(at('command_fork')).toBeGreaterThan(at('supervise'));
    const seccomp = prepare('/bin/true', [], { sandbox: sandbox(), cwd: P }).plan.steps.find((s) => s.op === 'seccomp')!;
    expect(seccomp.args[1]).toBe('listen-killable'); // this kernel (>= 5.19): test/fallbacks.test.ts forces the other
    // Mode 'full' supervises only the unix-socket rule (test/security/unix-sockets.test.ts).
    const full = prepare('/bin/true', [], { sandbox: { mode: 'full' }, cwd: P }).plan.steps.find((s) => s.op === 'supervise')!;
    expect(
      full.args
        .filter((a) => a.startsWith('sys='))
        .map((a) => a.replace(/^sys=\d+:/, ''))
        .sort(),
      // The chmod family too: a set-group-ID mode goes to init, which allows it on directories only.
    ).toEqual([
      'bind',
      'chdir',
      'chmod',
      'clone',
      'connect',
      'fchdir',
      'fchmod',
      'fchmodat',
      'fchmodat2',
      'sendmmsg',
      'sendmsg',
      'sendto',
      'setns',
      'umask',
      'unshare',
    ]);
  });

  it("mode 'full' (only the unix-socket rule is supervised): cd, umask, threads and subshells work as outside", async () => {
    const script = `cd / && pwd; umask 077; umask; (cd /tmp && pwd); mkdir -p ${P}/d && cd ${P}/d && touch f && ls`;
    const outside = require('child_process').spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    fs.rmSync(path.join(P, 'd'), { recursive: true });
    const r = await sh(script, { mode: 'full' }, { cwd: P });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(outside.stdout);
    expect(r.stdout).toBe('/\n0077\n/tmp\nf\n');
  });

  it('open with O_CREAT: lowest free fd, O_CLOEXEC kept, umask applied, O_EXCL, O_TRUNC, O_APPEND, errors', async () => {
    const out = await py(
      `
import fcntl, stat
os.umask(0o027)
a = sc(257 if NR['ioctl'] == 16 else 56, -100, ctypes.c_char_p(b'a'), os.O_CREAT | os.O_WRONLY, 0o666, ret=True)  # raw: Python's os.open adds O_CLOEXEC
b = os.open('b', os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o666)
out['lowest'] = (a, b) == (3, 4)
out['cloexec'] = [bool(fcntl.fcntl(a, fcntl.F_GETFD) & fcntl.FD_CLOEXEC), bool(fcntl.fcntl(b, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)]
out['mode'] = oct(stat.S_IMODE(os.stat('a').st_mode))
os.write(a, b'hello'); os.close(a)
c = os.open('a', os.O_CREAT | os.O_WRONLY | os.O_APPEND); os.write(c, b'!'); os.close(c)
out['append'] = open('a').read()
c = os.open('a', os.O_CREAT | os.O_WRONLY | os.O_TRUNC); os.close(c)
out['trunc'] = os.stat('a').st_size
out['excl'] = attempt(lambda: os.open('a', os.O_CREAT | os.O_EXCL | os.O_WRONLY))
out['noent'] = attempt(lambda: os.open('missing/x', os.O_CREAT | os.O_WRONLY))
out['notdir'] = attempt(lambda: os.open('a/x', os.O_CREAT | os.O_WRONLY))
out['isdir'] = attempt(lambda: os.open('x/', os.O_CREAT | os.O_WRONLY))
out['dir-creat'] = attempt(lambda: os.open('.', os.O_CREAT | os.O_WRONLY))
out['creat-dir'] = attempt(lambda: os.open('y', os.O_CREAT | os.O_DIRECTORY | os.O_RDONLY))
out['outside'] = attempt(lambda: os.open('/etc/sbx-test', os.O_CREAT | os.O_WRONLY))
out['accmode'] = fcntl.fcntl(os.open('a', os.O_CREAT | os.O_RDWR), fcntl.F_GETFL) & 3
for n in ('a', 'b'): os.unlink(n)`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({
      lowest: true,
      cloexec: [false, true],
      mode: '0o640',
      append: 'hello!',
      trunc: 0,
      excl: 'EEXIST',
      noent: 'ENOENT',
      notdir: 'ENOTDIR',
      isdir: 'EISDIR',
      'dir-creat': 'EISDIR',
      'creat-dir': 'EINVAL',
      outside: 'EROFS',
      accmode: 2,
    });
  });

  it("symlinks: O_CREAT writes through a link to a file, creates a dangling link's target, O_EXCL and O_NOFOLLOW refuse", async () => {
    const O = tempDir('sbx-super-out-');
    fs.writeFileSync(path.join(O, 'file'), 'outside');
    const out = await py(
      `
open('t', 'w').write('x')
os.symlink('t', 'l'); os.symlink('new', 'd'); os.symlink(${j(path.join(O, 'file'))}, 'out')
with open('l', 'w') as f: f.write('through')
out['through'] = open('t').read()
open('d', 'w').close()
out['dangling'] = os.path.exists('new')
out['excl'] = attempt(lambda: os.open('l', os.O_CREAT | os.O_EXCL | os.O_WRONLY))
out['nofollow'] = attempt(lambda: os.open('l', os.O_CREAT | os.O_NOFOLLOW | os.O_WRONLY))
out['outside'] = attempt(lambda: os.open('out', os.O_CREAT | os.O_WRONLY))
os.symlink('loop', 'loop')
out['loop'] = attempt(lambda: os.open('loop', os.O_CREAT | os.O_WRONLY))
for n in ('t', 'l', 'd', 'new', 'out', 'loop'): os.unlink(n)`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ through: 'through', dangling: true, excl: 'EEXIST', nofollow: 'ELOOP', outside: 'EROFS', loop: 'ELOOP' });
    expect(fs.readFileSync(path.join(O, 'file'), 'utf8')).toBe('outside');
    rmTree(O);
  });

  it('mkdir, mknod, symlink, link, rename: modes, umask and errors', async () => {
    const out = await py(
      `
import stat
os.umask(0o022)
os.mkdir('d', 0o777); out['dmode'] = oct(stat.S_IMODE(os.stat('d').st_mode))
os.mkdir('e/'); out['trailing'] = os.path.isdir('e')
out['exists'] = attempt(lambda: os.mkdir('d'))
out['noent'] = attempt(lambda: os.mkdir('nope/x'))
os.mkfifo('p', 0o666); out['fifo'] = oct(stat.S_IMODE(os.stat('p').st_mode))
out['blockdev'] = attempt(lambda: os.mknod('bd', 0o600 | stat.S_IFBLK, os.makedev(8, 0)))
open('f', 'w').close()
os.link('f', 'g'); out['nlink'] = os.stat('f').st_nlink
os.symlink('f', 's'); out['readlink'] = os.readlink('s')
os.rename('g', 'h'); out['renamed'] = sorted(os.listdir('.'))
out['noreplace'] = sc(316 if NR['ioctl'] == 16 else 276, -100, ctypes.c_char_p(b'h'), -100, ctypes.c_char_p(b'f'), 1)
out['dirnotempty'] = attempt(lambda: (open('d/x', 'w').close(), os.rename('e', 'd')))
out['outside'] = attempt(lambda: os.mkdir('/etc/sbx-test'))
out['into-proc'] = attempt(lambda: os.mkdir('/proc/self/sbx'))`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({
      dmode: '0o755',
      trailing: true,
      exists: 'EEXIST',
      noent: 'ENOENT',
      fifo: '0o644',
      blockdev: 'EPERM',
      nlink: 2,
      readlink: 'f',
      renamed: ['d', 'e', 'f', 'h', 'p', 's'],
      noreplace: 'EEXIST',
      dirnotempty: 'ENOTEMPTY',
      outside: 'EROFS',
      'into-proc': 'ENOENT',
    });
  });

  it('bind: unix sockets by path (umask applied) and abstract name, inet ports, the privileged-port refusal', async () => {
    const out = await py(
      `
import stat
os.umask(0o077)
l = socket.socket(socket.AF_UNIX); l.bind('sock'); l.listen(1)
out['mode'] = oct(stat.S_IMODE(os.stat('sock').st_mode))
out['name'] = l.getsockname()
a = socket.socket(socket.AF_UNIX); a.bind(os.path.abspath('sock2')); out['absname'] = a.getsockname() == os.path.abspath('sock2'); os.unlink('sock2')
c = socket.socket(socket.AF_UNIX); c.connect(os.path.abspath('sock')); out['connect'] = 'ok'
out['again'] = attempt(lambda: socket.socket(socket.AF_UNIX).bind('sock'))
out['abstract'] = attempt(lambda: socket.socket(socket.AF_UNIX).bind('\\0sbx-test'))
s = socket.socket(); s.bind(('127.0.0.1', 0)); out['inet'] = s.getsockname()[1] > 1023
out['low'] = attempt(lambda: socket.socket().bind(('127.0.0.1', 80)))
out['badfd'] = sc(49 if NR['ioctl'] == 16 else 200, 999, ctypes.c_char_p(b'x'), 3)
os.unlink('sock')`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({
      mode: '0o700',
      name: 'sock',
      absname: true,
      connect: 'ok',
      again: 'EADDRINUSE',
      abstract: 'ok',
      inet: true,
      low: 'EACCES',
      badfd: 'EBADF',
    });
  });

  it('shell redirections to /dev/null, /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N and process substitution', async () => {
    const r = await sh(
      'echo a > /dev/null; echo b > /dev/stdout; echo c > /dev/stderr; echo d > /proc/self/fd/1; exec 7>&1; echo e > /dev/fd/7; ' +
        'echo f | tee /dev/stderr > /dev/null; echo g > f && cat f',
      sandbox(),
      { cwd: P },
    );
    expect(r.stdout).toBe('b\nd\ne\ng\n');
    expect(r.stderr).toBe('c\nf\n');
    const bash = await sh(`bash -c 'echo sub > >(cat > out); sleep 0.2; cat out'`, sandbox(), { cwd: P });
    expect(bash.stdout).toBe('sub\n');
  });

  it("init does not open for a caller what only init may reach: its own /proc/1, other processes' /proc entries", async () => {
    const out = await py(
      `
import subprocess
child = subprocess.Popen(['sleep', '5'])
for k, p in (('mem', '/./proc/1/mem'), ('environ', '/./proc/1/environ'), ('fd', '/./proc/1/fd/0'), ('child', '/./proc/%d/environ' % child.pid), ('relative', '../../../../../../../../proc/1/environ')):
    out[k] = attempt(lambda: os.close(os.open(p, os.O_RDONLY | os.O_CREAT)))
out['own'] = attempt(lambda: os.close(os.open('/./proc/self/environ', os.O_RDONLY | os.O_CREAT)))
child.kill()`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ mem: 'EACCES', environ: 'EACCES', fd: 'EACCES', child: 'EACCES', relative: 'EACCES', own: 'ok' });
  });

  it('a FIFO reached through /proc/self/fd with O_CREAT blocks only its caller', async () => {
    const out = await py(
      `
import threading, time
os.mkfifo('p')
fd = os.open('p', os.O_PATH)
res = {}
def writer():
    res['w'] = os.open('/proc/self/fd/%d' % fd, os.O_WRONLY | os.O_CREAT)
t = threading.Thread(target=writer); t.start()
time.sleep(0.3)
os.mkdir('served')  # supervised too: must not wait for the FIFO
out['served'] = os.path.isdir('served')
r = os.open('p', os.O_RDONLY)
t.join(5)
out['writer'] = 'w' in res
os.rmdir('served'); os.unlink('p')`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ served: true, writer: true });
  });

  it("> /dev/tty opens the caller's terminal: none without one (ENXIO), its own pty inside script(1)", async () => {
    const none = await sh('echo x > /dev/tty', sandbox(), { cwd: P });
    expect(none.stderr).toMatch(/No such device or address/);
    const inner = await sh(`script -qec 'echo via-tty > /dev/tty' /dev/null`, sandbox(), { cwd: P });
    expect(inner.stdout.replace(/\r/g, '')).toContain('via-tty\n');
    expect(inner.code).toBe(0);
  });

  it('a FIFO opened for writing blocks only its caller: the supervisor keeps serving others', async () => {
    const r = await sh(
      'mkfifo p; (echo through > p; echo writer-done) & sleep 0.3; mkdir served && echo mkdir-ok; cat p; wait',
      sandbox(),
      { cwd: P },
    );
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['mkdir-ok', 'through', 'writer-done']);
  });

  it('many threads creating, linking and chmodding at once all get their answers', async () => {
    const out = await py(
      `
import threading
errs = []
def work(i):
    try:
        for k in range(50):
            n = 't%d-%d' % (i, k)
            with open(n, 'w') as f: f.write(n)
            os.link(n, n + '.l'); os.chmod(n, 0o600); os.rename(n + '.l', n + '.r')
    except OSError as e:
        errs.append(e.errno)
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
out['errs'] = errs
out['count'] = len(os.listdir('.'))`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ errs: [], count: 800 });
  });

  it('what would slip past it is refused: nested Landlock (EPERM), a listener of its own (EPERM), openat2 (ENOSYS)', async () => {
    const out = await py(
      `
attr = (ctypes.c_uint64 * 1)(1)  # handled_access_fs: EXECUTE
rs = libc.syscall(444, attr, 8, 0)
out['create-ruleset'] = 'ok' if rs >= 0 else errno.errorcode[ctypes.get_errno()]
libc.prctl(38, 1, 0, 0, 0)
out['restrict'] = sc(446, rs, 0)
prog = (ctypes.c_uint64 * 1)(0x7fff000000000006)  # BPF_RET | ALLOW
class Fprog(ctypes.Structure): _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
fp = Fprog(1, ctypes.addressof(prog))
nr = 317 if NR['ioctl'] == 16 else 277
out['listener'] = sc(nr, 1, 8, ctypes.byref(fp))
out['plain-filter'] = sc(nr, 1, 0, ctypes.byref(fp))
how = (ctypes.c_uint64 * 3)(0, 0, 0)
out['openat2'] = sc(437, -100, ctypes.c_char_p(b'.'), how, 24)`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ 'create-ruleset': 'ok', restrict: 'EPERM', listener: 'EPERM', 'plain-filter': 'ok', openat2: 'ENOSYS' });
  });

  it('real tools: git init, add and commit, tar, cp -a, npm-style rename of a temp dir', async () => {
    const r = await sh(
      'git init -q repo && cd repo && git config user.email t@t && git config user.name t && echo x > a && git add -A && git commit -qm m && git status --porcelain && ' +
        'cd .. && mkdir -p src/d && echo y > src/d/f && tar cf t.tar src && mkdir x && tar xf t.tar -C x && cp -a src copy && ' +
        'mkdir tmp-123 && echo z > tmp-123/pkg && mv tmp-123 final && cat x/src/d/f copy/d/f final/pkg',
      { ...sandbox(), allowGitWrites: true },
      { cwd: P, env: { PATH: process.env.PATH, HOME: P } },
    ); // a new repository: allowGitWrites
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('y\ny\nz\n');
    expect(fs.readdirSync(path.join(P, 'repo')).sort()).toEqual(['.git', 'a']);
  });

  // Init opens a directory once when a rename's or link's two paths name it
  // spelled alike from one base (requester.cc locate_pair): every spelling
  // must still land where the kernel puts it, and a protected name beside
  // the source must still be refused.
  it('rename and link within one directory (absolute, from the cwd, from a dirfd, through ..): as outside; onto .git beside it: EROFS, nothing made', async () => {
    const body = (root: string) => `
root = ${JSON.stringify(root)}
os.chdir(root)
os.mkdir('d'); open('d/f', 'w').write('x')
fd = os.open('d', os.O_RDONLY | os.O_DIRECTORY)
out['abs'] = attempt(lambda: os.rename(root + '/d/f', root + '/d/g'))
os.chdir('d'); out['cwd'] = attempt(lambda: os.rename('g', 'h')); os.chdir(root)
out['dirfd'] = attempt(lambda: os.rename('h', 'i', src_dir_fd=fd, dst_dir_fd=fd))
out['dotdot'] = attempt(lambda: os.rename('d/../d/i', 'd/../d/j'))
out['link-dirfd'] = attempt(lambda: os.link('j', 'k', src_dir_fd=fd, dst_dir_fd=fd))
out['link-abs'] = attempt(lambda: os.link(root + '/d/j', root + '/d/l'))
out['trailing-slash'] = attempt(lambda: os.rename('d/j', 'd/m/'))
out['missing'] = attempt(lambda: os.rename('d/nothing', 'd/n'))
out['names'] = sorted(os.listdir('d'))
out['one-inode'] = len({os.stat('d/' + n).st_ino for n in ('j', 'k', 'l')}) == 1
`;
    const outside = tempDir('sbx-super-out-');
    try {
      const r = spawnSync(PY, ['-c', `${pyPrelude()}\n${body(outside)}\nsys.stdout.write(json.dumps(out))\n`], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const want = JSON.parse(r.stdout);
      expect(want['one-inode']).toBe(true);
      expect(await py(body(P), sandbox(), { cwd: P })).toEqual(want);
    } finally {
      rmTree(outside);
    }
    fs.rmSync(path.join(P, 'd'), { recursive: true });
    fs.writeFileSync(path.join(P, 'x'), 'y');
    const before = snapshot(P);
    const refused = await py(
      `
root = ${JSON.stringify(P)}
pfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
out['abs'] = attempt(lambda: os.rename(root + '/x', root + '/.git'))
out['cwd'] = attempt(lambda: os.rename('x', '.git'))
out['dirfd'] = attempt(lambda: os.rename('x', '.git', src_dir_fd=pfd, dst_dir_fd=pfd))
out['link'] = attempt(lambda: os.link('x', '.git'))
out['link-dirfd'] = attempt(lambda: os.link('x', '.git', src_dir_fd=pfd, dst_dir_fd=pfd))
`,
      sandbox(),
      { cwd: P },
    );
    expect(refused).toEqual({ abs: 'EROFS', cwd: 'EROFS', dirfd: 'EROFS', link: 'EROFS', 'link-dirfd': 'EROFS' });
    expect(snapshot(P)).toEqual(before);
  });
});
