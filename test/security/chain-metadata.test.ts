// Attack class: metadata changes on the chain directories, the directories
// between a shared ancestor and the roots (H and H/.cache here). They live in
// the read-write mount of the ancestor, and Landlock does not cover chmod,
// chown, utimes, xattrs or inode flags, so init supervises those syscalls
// (docs/supervisor.md): refused with EROFS outside the roots, performed as
// asked inside them. Every attack checks the host's modes, times, xattrs and
// inode flags afterwards, and the races run long enough to lose if the
// supervisor looked a path up twice.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userLabel } from '../helpers';
import { attacker, Fixture, fixture, j, PY, py } from './lib';

/** Mode, owner, mtime, ctime (which any metadata change moves), user.* xattrs and inode flags, read on the host. */
function metadata(paths: string[]): unknown {
  const src = `
import fcntl, json, os, struct, sys
out = {}
for p in json.loads(sys.argv[1]):
    st = os.lstat(p)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
        flags = struct.unpack('l', fcntl.ioctl(fd, 0x80086601, struct.pack('l', 0)))[0]
        os.close(fd)
    except OSError as e:
        flags = 'E%d' % e.errno
    out[p] = [st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, st.st_ctime_ns, sorted(os.listxattr(p, follow_symlinks=False)), flags]
print(json.dumps(out))`;
  return JSON.parse(execFileSync(PY, ['-c', src, JSON.stringify(paths)], { encoding: 'utf8' }));
}

describe(`metadata of the chain directories (as ${userLabel})`, () => {
  let f: Fixture;
  let chain: string[];
  beforeEach(() => {
    f = fixture();
    chain = [f.H, path.join(f.H, '.cache')];
  });
  afterEach(() => f.cleanup());
  const attack = attacker(() => f);
  const guarded = async (body: string) => {
    const before = metadata(chain);
    const out = await attack(body);
    expect(metadata(chain)).toEqual(before);
    return out;
  };
  const each = (expr: string) =>
    [
      ['H', f.H],
      ['cache', path.join(f.H, '.cache')],
    ]
      .map(([k, p]) => `out[${j(k)}] = attempt(lambda: ${expr.replace(/P/g, j(p))})`)
      .join('\n');
  const both = (v: string) => ({ H: v, cache: v });

  it('chmod, chown, utimes by path (EROFS)', async () => {
    expect(await guarded(each('os.chmod(P, 0o777)'))).toEqual(both('EROFS'));
    expect(await guarded(each('os.chown(P, os.getuid(), os.getgid())'))).toEqual(both('EROFS'));
    expect(await guarded(each('os.utime(P, (0, 0))'))).toEqual(both('EROFS'));
    expect(await guarded(each('os.utime(P, None)'))).toEqual(both('EROFS'));
  });

  it('fchmod, fchown, futimens through a read-only directory fd (EROFS)', async () => {
    expect(await guarded(each('os.fchmod(os.open(P, os.O_RDONLY | os.O_DIRECTORY), 0o777)'))).toEqual(both('EROFS'));
    expect(await guarded(each('os.fchown(os.open(P, os.O_RDONLY | os.O_DIRECTORY), os.getuid(), os.getgid())'))).toEqual(both('EROFS'));
    expect(await guarded(each('os.utime(os.open(P, os.O_RDONLY | os.O_DIRECTORY), (1, 1))'))).toEqual(both('EROFS'));
  });

  it('fchownat and utimensat with AT_EMPTY_PATH on an O_PATH fd, fchmodat2 (EROFS)', async () => {
    expect(
      await guarded(`
AT_EMPTY_PATH = 0x1000
ts = (ctypes.c_long * 4)(1, 0, 1, 0)
for k, p in (('H', ${j(f.H)}), ('cache', ${j(path.join(f.H, '.cache'))})):
    fd = os.open(p, os.O_PATH)
    out[k + '.chown'] = sc(260 if NR['ioctl'] == 16 else 54, fd, ctypes.c_char_p(b''), os.getuid(), os.getgid(), AT_EMPTY_PATH)
    out[k + '.utimens'] = sc(280 if NR['ioctl'] == 16 else 88, fd, ctypes.c_char_p(b''), ts, AT_EMPTY_PATH)
    out[k + '.chmod2'] = sc(452, fd, ctypes.c_char_p(b''), 0o777, AT_EMPTY_PATH)
    out[k + '.chmod2path'] = sc(452, -100, ctypes.c_char_p(p.encode()), 0o777, 0)`),
    ).toEqual({
      'H.chown': 'EROFS',
      'H.utimens': 'EROFS',
      'H.chmod2': 'EROFS',
      'H.chmod2path': 'EROFS',
      'cache.chown': 'EROFS',
      'cache.utimens': 'EROFS',
      'cache.chmod2': 'EROFS',
      'cache.chmod2path': 'EROFS',
    });
  });

  it('setxattr, removexattr, fsetxattr and FS_IOC_SETFLAGS (EROFS)', async () => {
    expect(await guarded(each(`os.setxattr(P, 'user.sbx', b'x')`))).toEqual(both('EROFS'));
    expect(await guarded(each(`os.setxattr(os.open(P, os.O_RDONLY), 'user.sbx', b'x')`))).toEqual(both('EROFS'));
    expect(await guarded(each(`os.removexattr(P, 'user.sbx')`))).toEqual(both('EROFS'));
    expect(
      await guarded(`
import fcntl
for k, p in (('H', ${j(f.H)}), ('cache', ${j(path.join(f.H, '.cache'))})):
    fd = os.open(p, os.O_RDONLY)
    out[k] = attempt(lambda: fcntl.ioctl(fd, 0x40086602, struct.pack('l', 0x80)))  # FS_IOC_SETFLAGS noatime
    out[k + '32'] = attempt(lambda: fcntl.ioctl(fd, 0x40046602, struct.pack('i', 0x80)))
    out[k + 'fsx'] = attempt(lambda: fcntl.ioctl(fd, 0x401c5820, bytes(28)))  # FS_IOC_FSSETXATTR
    out[k + 'ver'] = attempt(lambda: fcntl.ioctl(fd, 0x40087602, struct.pack('l', 7)))  # FS_IOC_SETVERSION`),
    ).toEqual({
      H: 'EROFS',
      H32: 'EROFS',
      Hfsx: 'EROFS',
      Hver: 'EROFS',
      cache: 'EROFS',
      cache32: 'EROFS',
      cachefsx: 'EROFS',
      cachever: 'EROFS',
    });
  });

  it('through the roots: "..", a symlink in a root, /proc/self/cwd, a relative dirfd (EROFS)', async () => {
    const rel = path.relative(f.repo, f.H);
    expect(
      await guarded(`
os.symlink(${j(f.H)}, 'up')
os.symlink('..', 'dotdot')
out['dotdot'] = attempt(lambda: os.chmod('..', 0o777))
out['relative'] = attempt(lambda: os.chmod(${j(rel)}, 0o777))
out['symlink'] = attempt(lambda: os.chmod('up', 0o777))
out['symlink-dir'] = attempt(lambda: os.chmod('up/.cache', 0o777))
out['symlink-rel'] = attempt(lambda: os.chmod('dotdot', 0o777))
out['proc-cwd'] = attempt(lambda: os.chmod('/proc/self/cwd/..', 0o777))
out['thread-self'] = attempt(lambda: os.chmod('/proc/thread-self/cwd/..', 0o777))
d = os.open(${j(path.join(f.H, '.cache', 'cache'))}, os.O_RDONLY)
out['dirfd'] = attempt(lambda: os.chmod('..', 0o777, dir_fd=d))
out['dirfd-self'] = attempt(lambda: os.chmod('.', 0o700, dir_fd=d))
os.chmod('.', 0o755, dir_fd=d)
os.unlink('up'); os.unlink('dotdot')`),
    ).toEqual({
      dotdot: 'EROFS',
      relative: 'EROFS',
      symlink: 'EROFS',
      'symlink-dir': 'EROFS',
      'symlink-rel': 'EROFS',
      'proc-cwd': 'EROFS',
      'thread-self': 'EROFS',
      dirfd: 'EROFS',
      'dirfd-self': 'ok',
    });
  });

  it('a file the host creates in the shared ancestor during the run (EROFS), while the command waits', async () => {
    const late = path.join(f.H, 'late');
    const ready = path.join(f.repo, 'ready');
    const go = path.join(f.repo, 'go');
    const p = py(
      `
import time
open(${j(ready)}, 'w').close()
while not os.path.exists(${j(go)}): time.sleep(0.01)
out['chmod'] = attempt(lambda: os.chmod(${j(late)}, 0o777))
out['utime'] = attempt(lambda: os.utime(${j(late)}, (0, 0)))
out['xattr'] = attempt(lambda: os.setxattr(${j(late)}, 'user.x', b'1'))`,
      f.sandbox,
      { cwd: f.repo },
    );
    while (!fs.existsSync(ready)) await new Promise((r) => setTimeout(r, 10));
    fs.writeFileSync(late, 'host');
    fs.chmodSync(late, 0o644);
    const before = metadata([late]);
    fs.writeFileSync(go, '');
    expect(await p).toEqual({ chmod: 'EROFS', utime: 'EROFS', xattr: 'EROFS' });
    expect(metadata([late])).toEqual(before);
  });

  it("inside the roots everything still works, with the kernel's own answers", async () => {
    const out = await py(
      `
import fcntl, stat
os.umask(0)
open('f', 'w').close()
os.chmod('f', 0o640); out['mode'] = oct(stat.S_IMODE(os.stat('f').st_mode))
os.fchmod(os.open('f', os.O_RDONLY), 0o600); out['fmode'] = oct(stat.S_IMODE(os.stat('f').st_mode))
os.utime('f', (1000, 2000)); out['mtime'] = os.stat('f').st_mtime
os.utime('f', None); out['now'] = os.stat('f').st_mtime > 2000
os.chown('f', os.getuid(), os.getgid()); out['chown'] = 'ok'
os.setxattr('f', 'user.k', b'v'); out['xattr'] = os.getxattr('f', 'user.k').decode()
os.removexattr('f', 'user.k'); out['removed'] = os.listxattr('f')
os.symlink('f', 'l')
out['lchown'] = attempt(lambda: os.chown('l', os.getuid(), os.getgid(), follow_symlinks=False))
out['lutime'] = attempt(lambda: os.utime('l', (5, 5), follow_symlinks=False))
out['link-mtime'] = os.lstat('l').st_mtime
out['lxattr'] = attempt(lambda: os.setxattr('l', 'user.k', b'v', follow_symlinks=False))
out['lchmod'] = sc(452, -100, ctypes.c_char_p(b'l'), 0o777, 0x100)
out['missing'] = attempt(lambda: os.chmod('nope', 0o777))
out['notdir'] = attempt(lambda: os.chmod('f/x', 0o777))
out['empty'] = attempt(lambda: os.chmod('', 0o777))
out['badfd'] = attempt(lambda: os.fchmod(999, 0o777))
out['opath-fchmod'] = attempt(lambda: os.fchmod(os.open('f', os.O_PATH), 0o777))
out['efault'] = sc(90 if NR['ioctl'] == 16 else 53, *( (1,) if NR['ioctl'] == 16 else (-100, 1)), 0o777)
out['cache'] = attempt(lambda: os.chmod(${j(path.join(f.cache, 'blob'))}, 0o600))
fd = os.open('f', os.O_RDONLY)
flags = bytearray(8)
fcntl.ioctl(fd, 0x80086601, flags)  # FS_IOC_GETFLAGS: set them back as they are (ext4 refuses clearing its extents flag, EPERM)
out['setflags'] = attempt(lambda: fcntl.ioctl(fd, 0x40086602, bytes(flags)))
os.unlink('l'); os.unlink('f')`,
      f.sandbox,
      { cwd: f.repo },
    );
    expect(out).toEqual({
      mode: '0o640',
      fmode: '0o600',
      mtime: 2000,
      now: true,
      chown: 'ok',
      xattr: 'v',
      removed: [],
      lchown: 'ok',
      lutime: 'ok',
      'link-mtime': 5,
      lxattr: 'EPERM',
      lchmod: 'ENOTSUP', // Python's name for EOPNOTSUPP (95)
      missing: 'ENOENT',
      notdir: 'ENOTDIR',
      empty: 'ENOENT',
      badfd: 'EBADF',
      'opath-fchmod': 'EBADF',
      efault: 'EFAULT',
      cache: 'ok',
      setflags: 'ok',
    });
  });

  it('a process that made itself non-dumpable is still served', async () => {
    expect(
      await guarded(`
libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
open('nd', 'w').close()
out['inside'] = attempt(lambda: os.chmod('nd', 0o600))
out['chain'] = attempt(lambda: os.chmod(${j(f.H)}, 0o777))
os.unlink('nd')`),
    ).toEqual({ inside: 'ok', chain: 'EROFS' });
  });

  it('symlink swapped between a root file and the ancestor while chmod runs: the ancestor never changes', async () => {
    // One thread flips `link` between 'target' (in the root) and H; the other
    // chmods through it. With a second lookup in the kernel (CONTINUE) the
    // chmod would land on H after the check looked at 'target'.
    const out = await guarded(`
import threading
open('target', 'w').close()
stop = False
def flip():
    while not stop:
        for t in ('target', ${j(f.H)}):
            try: os.symlink(t, 'tmp-link'); os.rename('tmp-link', 'link')
            except OSError: pass
threading.Thread(target=flip).start()
res = {'ok': 0, 'EROFS': 0}
import time
end = time.time() + 3
while time.time() < end:
    r = attempt(lambda: os.chmod('link', 0o640 if res['ok'] % 2 else 0o600))
    res[r] = res.get(r, 0) + 1
stop = True
time.sleep(0.1)
out['both'] = res['ok'] > 20 and res['EROFS'] > 20
out['other'] = sorted(k for k in res if k not in ('ok', 'EROFS', 'ENOENT'))
for n in ('link', 'tmp-link', 'target'):
    try: os.unlink(n)
    except OSError: pass`);
    expect(out).toEqual({ both: true, other: [] });
  }, 30_000);

  it('path bytes rewritten by another thread while chmod runs: the ancestor never changes', async () => {
    // The path buffer alternates between "./f" (in the root) and "..": a
    // supervisor that let the kernel read it again would chmod H.
    const out = await guarded(`
import threading, time
open('f', 'w').close()
buf = ctypes.create_string_buffer(b'./f', 8)
stop = False
def flip():
    while not stop:
        ctypes.memmove(buf, b'..\\0', 3)
        ctypes.memmove(buf, b'./f\\0', 4)
threading.Thread(target=flip).start()
res = {}
end = time.time() + 3
while time.time() < end:
    r = 'ok' if libc.chmod(buf, 0o600) == 0 else errno.errorcode[ctypes.get_errno()]
    res[r] = res.get(r, 0) + 1
stop = True
time.sleep(0.1)
out['both'] = res.get('ok', 0) > 20 and res.get('EROFS', 0) > 20
out['other'] = sorted(k for k in res if k not in ('ok', 'EROFS', 'ENOENT'))
os.unlink('f')`);
    expect(out).toEqual({ both: true, other: [] });
  }, 30_000);
});
