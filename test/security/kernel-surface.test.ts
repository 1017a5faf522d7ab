// Attack class: the kernel interfaces past the syscalls the other files cover.
// - Filesystem ioctls that change an inode or the filesystem. The ones an
//   owner may make (inode generation, extents, pinning) are supervised like
//   FS_IOC_SETFLAGS: refused with EROFS on the chain directories and on files
//   the host creates next to them, performed by init inside the roots. The
//   ones init could not perform faithfully (fs-verity, fscrypt, f2fs
//   compressed blocks, the ocfs2 reflink) are refused with EPERM everywhere.
// - File leases: a lease makes every other opener of the file wait for the
//   lease-break time (45 s by default) and signals the holder; refused with
//   EPERM. Advisory locks stay allowed (docs/threat-model.md says why).
// Every attack checks the host's inode generation, flags and ctime afterwards.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRoot, rmTree, tempDir, userLabel } from '../helpers';
import { attacker, Fixture, fixture, j, PY, py } from './lib';

/** ctime, mode, inode generation (FS_IOC_GETVERSION) and inode flags (FS_IOC_GETFLAGS), read on the host. */
function inodes(paths: string[]): unknown {
  const src = `
import fcntl, json, os, struct, sys
def ioc(fd, cmd):
    try: return struct.unpack('l', fcntl.ioctl(fd, cmd, struct.pack('l', 0)))[0] & 0xffffffff
    except OSError as e: return 'E%d' % e.errno
out = {}
for p in json.loads(sys.argv[1]):
    st = os.lstat(p)
    fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
    out[p] = [st.st_mode, st.st_ctime_ns, st.st_mtime_ns, ioc(fd, 0x80087601), ioc(fd, 0x80086601)]
    os.close(fd)
print(json.dumps(out))`;
  return JSON.parse(execFileSync(PY, ['-c', src, JSON.stringify(paths)], { encoding: 'utf8' }));
}

/** Runs Python on the host (no sandbox) and returns its `out`. */
function hostPy(body: string, cwd: string): Record<string, unknown> {
  const src = `import errno, fcntl, json, os, struct\nout = {}\ndef attempt(fn):\n    try:\n        fn(); return 'ok'\n    except OSError as e:\n        return errno.errorcode.get(e.errno, str(e.errno))\n${body}\nprint(json.dumps(out))`;
  return JSON.parse(execFileSync(PY, ['-c', src], { encoding: 'utf8', cwd }));
}

// The supervised inode ioctls on a file `p` that the caller can open read-only.
// EXT4_IOC_MIGRATE only changes a file whose extents flag is clear, so the
// caller clears it first where it may (inside a root; the host for its file).
const inodeIoctls = (fdExpr: string, prefix: string) => `
fd = ${fdExpr}
out[${j(prefix + 'ext4-setversion')}] = attempt(lambda: fcntl.ioctl(fd, 0x40086604, struct.pack('l', 4242)))
out[${j(prefix + 'ext4-setversion32')}] = attempt(lambda: fcntl.ioctl(fd, 0x40046604, struct.pack('i', 4243)))
out[${j(prefix + 'fs-setversion')}] = attempt(lambda: fcntl.ioctl(fd, 0x40087602, struct.pack('l', 4244)))
out[${j(prefix + 'ext4-migrate')}] = attempt(lambda: fcntl.ioctl(fd, 0x6609, 0))
out[${j(prefix + 'f2fs-pin')}] = attempt(lambda: fcntl.ioctl(fd, 0x4004f50d, struct.pack('I', 1)))
os.close(fd)`;

describe(`filesystem ioctls and leases (as ${userLabel})`, () => {
  let f: Fixture;
  let chain: string[];
  beforeEach(() => {
    f = fixture();
    chain = [f.H, path.join(f.H, '.cache')];
  });
  afterEach(() => f.cleanup());
  const attack = attacker(() => f);

  it("EXT4_IOC_SETVERSION (long, int), FS_IOC_SETVERSION, EXT4_IOC_MIGRATE, F2FS_IOC_SET_PIN_FILE: EROFS on the chain, the kernel's own answer inside the roots", async () => {
    const before = inodes(chain);
    const body = (file: string) => `
open(${j(file)}, 'w').close()
fd = os.open(${j(file)}, os.O_RDONLY)
flags = struct.unpack('l', fcntl.ioctl(fd, 0x80086601, struct.pack('l', 0)))[0]
out['clear-extents'] = attempt(lambda: fcntl.ioctl(fd, 0x40086602, struct.pack('l', flags & ~0x80000)))
os.close(fd)
${inodeIoctls(`os.open(${j(file)}, os.O_RDONLY)`, 'in.')}
fd = os.open(${j(file)}, os.O_RDONLY)
out['in.generation'] = struct.unpack('l', fcntl.ioctl(fd, 0x80087601, struct.pack('l', 0)))[0] & 0xffffffff
out['in.extents'] = struct.unpack('l', fcntl.ioctl(fd, 0x80086601, struct.pack('l', 0)))[0] & 0x80000
os.close(fd)
os.unlink(${j(file)})`;
    const out = await attack(`
import fcntl
${inodeIoctls(`os.open(${j(f.H)}, os.O_RDONLY)`, 'H.')}
${inodeIoctls(`os.open(${j(chain[1])}, os.O_RDONLY | os.O_DIRECTORY)`, 'cache.')}
${body('inside')}`);
    expect(inodes(chain)).toEqual(before);
    const refused: Record<string, string> = {};
    for (const k of ['H.', 'cache.'])
      for (const op of ['ext4-setversion', 'ext4-setversion32', 'fs-setversion', 'ext4-migrate', 'f2fs-pin']) refused[k + op] = 'EROFS';
    // Inside a root init performs each call: the answers are the ones the
    // kernel gives the host for the same steps on the same filesystem.
    const scratch = tempDir('sbx-kernel-host-');
    try {
      const host = hostPy(body('inside'), scratch);
      expect(out).toEqual({ ...refused, ...host });
    } finally {
      rmTree(scratch);
    }
  });

  it('a file the host creates in the shared ancestor during the run: the same ioctls get EROFS, its generation, flags and ctime stay', async () => {
    const late = path.join(f.H, 'late');
    const ready = path.join(f.repo, 'ready');
    const go = path.join(f.repo, 'go');
    const p = py(
      `
import fcntl, time
open(${j(ready)}, 'w').close()
while not os.path.exists(${j(go)}): time.sleep(0.01)
${inodeIoctls(`os.open(${j(late)}, os.O_RDONLY)`, '')}`,
      f.sandbox,
      { cwd: f.repo },
    );
    while (!fs.existsSync(ready)) await new Promise((r) => setTimeout(r, 10));
    fs.writeFileSync(late, 'host');
    // With the extents flag clear, EXT4_IOC_MIGRATE would set it again.
    hostPy(
      `fd = os.open(${j(late)}, os.O_RDONLY)\nflags = struct.unpack('l', fcntl.ioctl(fd, 0x80086601, struct.pack('l', 0)))[0]\nout['clear'] = attempt(lambda: fcntl.ioctl(fd, 0x40086602, struct.pack('l', flags & ~0x80000)))`,
      f.H,
    );
    const before = inodes([late]);
    fs.writeFileSync(go, '');
    expect(await p).toEqual({
      'ext4-setversion': 'EROFS',
      'ext4-setversion32': 'EROFS',
      'fs-setversion': 'EROFS',
      'ext4-migrate': 'EROFS',
      'f2fs-pin': 'EROFS',
    });
    expect(inodes([late])).toEqual(before);
  });

  it('fs-verity, fscrypt policy/salt/keys, f2fs compressed-block release and reserve, ocfs2 reflink, btrfs SET_RECEIVED_SUBVOL_32: EPERM on every file, supervised or not', async () => {
    const cmds = [
      0x40806685, // FS_IOC_ENABLE_VERITY
      0x800c6613,
      0x40106614, // FS_IOC_SET_ENCRYPTION_POLICY, FS_IOC_GET_ENCRYPTION_PWSALT
      0xc0506617,
      0xc0406618,
      0xc0406619, // FS_IOC_ADD_ENCRYPTION_KEY, FS_IOC_REMOVE_ENCRYPTION_KEY, _ALL_USERS
      0x8008f512,
      0x8008f513, // F2FS_IOC_RELEASE_COMPRESS_BLOCKS, F2FS_IOC_RESERVE_COMPRESS_BLOCKS
      0x40186f04, // OCFS2_IOC_REFLINK
      0xc0c09425, // BTRFS_IOC_SET_RECEIVED_SUBVOL_32
    ];
    const body = (targets: [string, string][]) => `
import fcntl
for k, p in ${j(targets)}:
    fd = os.open(p, os.O_RDONLY)
    for cmd in ${j(cmds)}:
        size = (cmd >> 16) & 0x3fff
        out['%s %x' % (k, cmd)] = attempt(lambda: fcntl.ioctl(fd, cmd, bytes(size)))
    os.close(fd)`;
    const expected = (keys: string[]) => Object.fromEntries(keys.flatMap((k) => cmds.map((c) => [`${k} ${c.toString(16)}`, 'EPERM'])));
    const before = inodes([f.H, path.join(f.repo, 'mine'), path.join(f.O, 'secret')]);
    const targets: [string, string][] = [
      ['root', path.join(f.repo, 'mine')],
      ['chain', f.H],
      ['host', path.join(f.O, 'secret')],
    ];
    expect(await attack(body(targets))).toEqual(expected(['root', 'chain', 'host']));
    const readOnly = await py(
      body([
        ['host', path.join(f.O, 'secret')],
        ['ro', path.join(f.repo, 'mine')],
      ]),
      { writableRoots: [], tmp: 'none' },
    );
    expect(readOnly).toEqual(expected(['host', 'ro']));
    expect(inodes([f.H, path.join(f.repo, 'mine'), path.join(f.O, 'secret')])).toEqual(before);
  });

  it('F_SETLEASE and F_SETDELEG are refused (EPERM) on a read-only host file and in a root; host writers open it at once; flock and OFD locks still work', async () => {
    const secret = path.join(f.O, 'secret');
    const ready = path.join(f.repo, 'ready');
    const go = path.join(f.repo, 'go');
    const before = f.state();
    const p = py(
      `
import fcntl, signal, time
sigio = []
signal.signal(signal.SIGIO, lambda *a: sigio.append(1))
fd = os.open(${j(secret)}, os.O_RDONLY)
out['rdlease'] = attempt(lambda: fcntl.fcntl(fd, 1024, fcntl.F_RDLCK))
out['wrlease'] = attempt(lambda: fcntl.fcntl(fd, 1024, fcntl.F_WRLCK))
out['deleg'] = attempt(lambda: fcntl.fcntl(fd, 1040, struct.pack('IHH', 0, fcntl.F_RDLCK, 0)))
out['getlease'] = fcntl.fcntl(fd, 1025)
mine = os.open('mine', os.O_RDONLY)
out['root-lease'] = attempt(lambda: fcntl.fcntl(mine, 1024, fcntl.F_RDLCK))
os.close(mine)
# Advisory locks are allowed: only processes that ask for the lock wait, and only while the sandbox lives.
out['flock'] = attempt(lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB))
fcntl.flock(fd, fcntl.LOCK_UN)
out['ofd'] = attempt(lambda: fcntl.fcntl(fd, 37, struct.pack('hhqqi4x', fcntl.F_RDLCK, 0, 0, 0, 0)))
open(${j(ready)}, 'w').close()
while not os.path.exists(${j(go)}): time.sleep(0.01)
time.sleep(0.1)
out['sigio'] = len(sigio)
os.close(fd)`,
      f.sandbox,
      { cwd: f.repo },
    );
    while (!fs.existsSync(ready)) await new Promise((r) => setTimeout(r, 10));
    // A lease would make this non-blocking open fail with EWOULDBLOCK, and a
    // blocking one wait for the lease-break time.
    fs.closeSync(fs.openSync(secret, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    const t0 = Date.now();
    fs.closeSync(fs.openSync(secret, fs.constants.O_WRONLY));
    expect(Date.now() - t0).toBeLessThan(2000);
    fs.writeFileSync(go, '');
    expect(await p).toEqual({
      rdlease: 'EPERM',
      wrlease: 'EPERM',
      deleg: 'EPERM',
      getlease: 2 /* F_UNLCK */,
      'root-lease': 'EPERM',
      flock: 'ok',
      ofd: 'ok',
      sigio: 0,
    });
    fs.rmSync(ready);
    fs.rmSync(go);
    expect(f.state()).toEqual(before);
  });

  // Needs a filesystem with the encrypt feature: a loop-mounted ext4 image,
  // which only root can mount. The keyring of a filesystem is reachable from
  // any fd on it, a read-only one too, and shared with the user's own claims.
  it.runIf(isRoot)(
    "FS_IOC_REMOVE_ENCRYPTION_KEY / FS_IOC_ADD_ENCRYPTION_KEY on a host fscrypt filesystem: EPERM, the host's key stays and its files stay readable",
    async () => {
      const dir = tempDir('sbx-kernel-fscrypt-');
      const img = path.join(dir, 'img');
      const mnt = path.join(dir, 'mnt');
      fs.mkdirSync(mnt);
      fs.closeSync(fs.openSync(img, 'w'));
      fs.truncateSync(img, 32 << 20);
      execFileSync('mkfs.ext4', ['-q', '-F', '-O', 'encrypt', img]);
      execFileSync('mount', ['-o', 'loop', img, mnt]);
      try {
        const keyStatus = (ident: string) =>
          hostPy(
            `
fd = os.open(${j(mnt)}, os.O_RDONLY)
st = bytearray(struct.pack('II32s24x', 2, 0, bytes.fromhex(${j(ident)})) + bytes(64))
fcntl.ioctl(fd, 0xc080661a, st)
out['status'], out['flags'], out['users'] = struct.unpack_from('III', st, 64)`,
            dir,
          );
        const setup = hostPy(
          `
fd = os.open(${j(mnt)}, os.O_RDONLY)
arg = bytearray(struct.pack('II32sII32x', 2, 0, b'', 64, 0) + bytes(range(64)))
fcntl.ioctl(fd, 0xc0506617, arg)
out['ident'] = bytes(arg[8:24]).hex()
os.mkdir(${j(mnt + '/enc')})
d = os.open(${j(mnt + '/enc')}, os.O_RDONLY)
fcntl.ioctl(d, 0x800c6613, struct.pack('BBBBB3x16s', 2, 1, 4, 0, 0, arg[8:24]))
open(${j(mnt + '/enc/file')}, 'w').write('plain')`,
          dir,
        );
        const ident = setup.ident as string;
        expect(keyStatus(ident)).toEqual({ status: 2 /* PRESENT */, flags: 1 /* ADDED_BY_SELF */, users: 1 });
        const out = await py(
          `
import fcntl
fd = os.open(${j(mnt)}, os.O_RDONLY)
out['remove'] = attempt(lambda: fcntl.ioctl(fd, 0xc0406618, struct.pack('II32sI20x', 2, 0, bytes.fromhex(${j(ident)}), 0)))
out['add'] = attempt(lambda: fcntl.ioctl(fd, 0xc0506617, struct.pack('II32sII32x', 2, 0, b'', 64, 0) + bytes(64 * [7])))`,
          f.sandbox,
          { cwd: f.repo },
        );
        expect(out).toEqual({ remove: 'EPERM', add: 'EPERM' });
        expect(keyStatus(ident)).toEqual({ status: 2, flags: 1, users: 1 });
        expect(fs.readFileSync(path.join(mnt, 'enc', 'file'), 'utf8')).toBe('plain');
      } finally {
        execFileSync('umount', [mnt]);
        rmTree(dir);
      }
    },
  );
});
