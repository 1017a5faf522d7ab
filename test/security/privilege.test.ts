// Attack classes: setuid binaries, devices, and kernel controls in /proc.
// The command has no capabilities, no_new_privs, nosuid/nodev everywhere, a
// minimal /dev and a /proc whose sys/ and sysrq-trigger are read-only.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../lib';
import { SUPERVISED_NR } from '../../lib/seccomp';
import { isRoot, rmTree, tempDir, userLabel } from '../helpers';
import { arch, Fixture, fixture, py } from './lib';

describe(`privileges, devices and /proc controls (as ${userLabel})`, () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => f.cleanup());
  const attack = async (body: string) => {
    const before = f.state();
    const hostname = fs.readFileSync('/proc/sys/kernel/hostname', 'utf8');
    const out = await py(body, f.sandbox, { cwd: f.repo });
    expect(f.state()).toEqual(before);
    expect(fs.readFileSync('/proc/sys/kernel/hostname', 'utf8')).toBe(hostname);
    return out;
  };

  it.runIf(isRoot)('a setuid binary owned by another user runs with our uid (nosuid + no_new_privs); outside it switches', async () => {
    const id = path.join(f.O, 'id');
    fs.copyFileSync('/usr/bin/id', id);
    fs.chownSync(id, 65534, 65534);
    fs.chmodSync(id, 0o4755);
    expect(execFileSync(id, ['-u'], { encoding: 'utf8' }).trim()).toBe('65534');
    const r = await run(id, ['-u'], { sandbox: f.sandbox });
    expect(r.stdout.trim()).toBe('0');
  });

  it.runIf(!isRoot)('a setuid-root binary (mount) does not make us root: "must be superuser"', async () => {
    expect(fs.statSync('/usr/bin/mount').mode & 0o4000).toBe(0o4000);
    const before = f.state();
    const r = await run('/usr/bin/mount', ['-t', 'tmpfs', 'none', f.O], { sandbox: f.sandbox });
    expect(r.code).toBe(32);
    expect(r.stderr).toMatch(/must be superuser to use mount/);
    expect(f.state()).toEqual(before);
  });

  it('every mount the command sees is nosuid (but the six device-node binds), and no_new_privs is set', async () => {
    const out = await py(
      `
bad = []
for line in open('/proc/self/mountinfo'):
    parts = line.split()
    if 'nosuid' not in parts[5].split(','): bad.append(parts[4])
out['without nosuid'] = sorted(bad)
out['chardevs'] = all(os.path.exists(p) and (os.stat(p).st_mode & 0o170000) == 0o020000 for p in bad)
out['NoNewPrivs'] = [l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0]`,
      f.sandbox,
    );
    expect(out).toEqual({
      'without nosuid': ['/dev/full', '/dev/null', '/dev/random', '/dev/tty', '/dev/urandom', '/dev/zero'],
      chardevs: true,
      NoNewPrivs: '1',
    });
  });

  it('setuid to the other user (EINVAL: not mapped), setgroups and capset to regain capabilities (EPERM)', async () => {
    const out = await attack(`
out['setuid'] = attempt(lambda: os.setuid(${isRoot ? 65534 : 0}))
out['setgroups'] = attempt(lambda: os.setgroups([0]))
hdr = struct.pack('II', 0x20080522, 0)
data = struct.pack('IIIIII', 0xffffffff, 0xffffffff, 0, 0xffffffff, 0xffffffff, 0)
out['capset'] = sc(126 if NR['ioctl'] == 16 else 91, ctypes.c_char_p(hdr), ctypes.c_char_p(data))`);
    expect(out).toEqual({ setuid: 'EINVAL', setgroups: 'EPERM', capset: 'EPERM' });
  });

  it('host block devices and memory: /dev/sda, /dev/mem, /dev/kmsg, /dev/port (ENOENT)', async () => {
    expect(
      await attack(`
for d in ('/dev/sda', '/dev/vda', '/dev/mem', '/dev/kmem', '/dev/kmsg', '/dev/port', '/dev/fuse'):
    out[d] = attempt(lambda: os.open(d, os.O_RDONLY))`),
    ).toEqual({
      '/dev/sda': 'ENOENT',
      '/dev/vda': 'ENOENT',
      '/dev/mem': 'ENOENT',
      '/dev/kmem': 'ENOENT',
      '/dev/kmsg': 'ENOENT',
      '/dev/port': 'ENOENT',
      '/dev/fuse': 'ENOENT',
    });
  });

  it('mknod of a block and a char device in a root (EPERM) and in /dev (EROFS)', async () => {
    expect(
      await attack(`
import stat
out['block in root'] = attempt(lambda: os.mknod('sda', stat.S_IFBLK | 0o600, os.makedev(8, 0)))
out['mem in root'] = attempt(lambda: os.mknod('mem', stat.S_IFCHR | 0o600, os.makedev(1, 1)))
out['in /dev'] = attempt(lambda: os.mknod('/dev/sda', stat.S_IFBLK | 0o600, os.makedev(8, 0)))`),
    ).toEqual({ 'block in root': 'EPERM', 'mem in root': 'EPERM', 'in /dev': 'EROFS' });
  });

  // A set-ID file made in a writable root stays on the host, where mounts are
  // not nosuid: whoever runs it there runs as the sandbox's user (uid 0 for a
  // root caller). Every way to give a file such a mode is refused; set-group-ID
  // on a directory (group inheritance, git's shared repositories) is not.
  const setidAttempts = (nr: Record<string, number | undefined>) => `
import stat
open('plain', 'w').close()
os.chmod('plain', 0o755)
os.mkdir('dir')
out['chmod u+s'] = attempt(lambda: os.chmod('plain', 0o4755))
out['chmod g+s'] = attempt(lambda: os.chmod('plain', 0o2755))
out['chmod u+s, high bits'] = sc(${nr.fchmodat}, -100 & 0xffffffff, ctypes.c_char_p(b'plain'), (1 << 32) | 0o4755)
out['fchmodat2 u+s'] = sc(${nr.fchmodat2}, -100 & 0xffffffff, ctypes.c_char_p(b'plain'), 0o4755, 0)
fd = os.open('plain', os.O_RDONLY)
out['fchmod u+s'] = attempt(lambda: os.fchmod(fd, 0o4755))
out['fchmod g+s'] = attempt(lambda: os.fchmod(fd, 0o2711))
os.close(fd)
out['open O_CREAT 04755'] = attempt(lambda: os.open('c-suid', os.O_CREAT | os.O_WRONLY, 0o4755))
out['open O_CREAT 02755'] = attempt(lambda: os.open('c-sgid', os.O_CREAT | os.O_WRONLY, 0o2755))
out['openat O_TMPFILE 04755'] = attempt(lambda: os.open('.', os.O_TMPFILE | os.O_WRONLY, 0o4755))
${nr.creat === undefined ? '' : `out['creat 04755'] = sc(${nr.creat}, ctypes.c_char_p(b'creat-suid'), 0o4755)`}
out['mknod 0104755'] = attempt(lambda: os.mknod('m-suid', stat.S_IFREG | 0o4755))
out['mknod 0102755'] = attempt(lambda: os.mknod('m-sgid', stat.S_IFREG | 0o2755))
out['openat2'] = sc('openat2', -100 & 0xffffffff, ctypes.c_char_p(b'o2'), 0, 24)
out['chmod 0700'] = attempt(lambda: os.chmod('plain', 0o700))
out['open O_CREAT 0755'] = attempt(lambda: os.close(os.open('c-plain', os.O_CREAT | os.O_WRONLY, 0o755)))
out['mknod fifo'] = attempt(lambda: os.mknod('fifo', stat.S_IFIFO | 0o644))
out['chmod dir g+s'] = attempt(lambda: os.chmod('dir', 0o2775))
out['chmod dir u+s'] = attempt(lambda: os.chmod('dir', 0o4775))`;
  const setidRefused = {
    'chmod u+s': 'EPERM',
    'chmod g+s': 'EPERM',
    'chmod u+s, high bits': 'EPERM',
    'fchmodat2 u+s': 'EPERM',
    'fchmod u+s': 'EPERM',
    'fchmod g+s': 'EPERM',
    'open O_CREAT 04755': 'EPERM',
    'open O_CREAT 02755': 'EPERM',
    'openat O_TMPFILE 04755': 'EPERM',
    'creat 04755': 'EPERM',
    'mknod 0104755': 'EPERM',
    'mknod 0102755': 'EPERM',
    openat2: 'ENOSYS',
    'chmod 0700': 'ok',
    'open O_CREAT 0755': 'ok',
    'mknod fifo': 'ok',
    'chmod dir g+s': 'ok',
    'chmod dir u+s': 'EPERM',
  };
  const hostModes = (dir: string) =>
    Object.fromEntries(fs.readdirSync(dir).map((n) => [n, (fs.lstatSync(path.join(dir, n)).mode & 0o7777).toString(8)]));

  for (const [name, sandboxOf] of [
    ['a root in a shared ancestor (metadata supervised)', (fx: Fixture) => fx.sandbox],
    ['a root of its own (no chain)', (_fx: Fixture, own: string) => ({ writableRoots: [own], tmp: 'none' as const })],
  ] as const) {
    it(`set-ID files in ${name}: chmod, creating opens, O_TMPFILE, creat and mknod with a set-ID mode get EPERM, openat2 ENOSYS; the host's files keep plain modes`, async () => {
      const own = tempDir('sbx-sec-setid-');
      try {
        const sandbox = sandboxOf(f, own);
        const cwd = sandbox === f.sandbox ? f.repo : own;
        const before = f.state();
        const out = await py(setidAttempts(SUPERVISED_NR[arch] as Record<string, number | undefined>), sandbox, { cwd });
        // arm64 has no creat(2): the call is not made there, nor expected.
        const expected: Record<string, string> = { ...setidRefused };
        if (SUPERVISED_NR[arch].creat === undefined) delete expected['creat 04755'];
        expect(out).toEqual(expected);
        // Seen from the host: nothing set-ID, the directory set-group-ID only.
        const made = { plain: '700', 'c-plain': '755', fifo: '644', dir: '2775' };
        expect(hostModes(cwd)).toEqual({ ...(cwd === f.repo ? { mine: '644' } : {}), ...made });
        for (const n of Object.keys(made)) rmTree(path.join(cwd, n));
        expect(f.state()).toEqual(before);
      } finally {
        rmTree(own);
      }
    });
  }

  it('/proc/sys writes: hostname, core_pattern, drop_caches, modprobe (EROFS); sethostname (EPERM)', async () => {
    const files = ['/proc/sys/kernel/hostname', '/proc/sys/kernel/core_pattern', '/proc/sys/vm/drop_caches', '/proc/sys/kernel/modprobe'];
    const out = await attack(`
for p in ${JSON.stringify(files)}:
    out[p] = attempt(lambda: open(p, 'w').write('|/tmp/pwn'))
out['sethostname'] = attempt(lambda: socket.sethostname('pwned'))`);
    const expected: Record<string, string> = { sethostname: 'EPERM' };
    for (const p of files) expected[p] = fs.existsSync(p) ? 'EROFS' : 'ENOENT'; // modprobe needs CONFIG_MODULES
    expect(out).toEqual(expected);
    expect(Object.values(out).filter((v) => v === 'EROFS').length).toBeGreaterThanOrEqual(3);
  });

  it('/proc/sysrq-trigger write (EROFS where the kernel has it, ENOENT where it does not)', async () => {
    const out = await attack(`
out['sysrq'] = attempt(lambda: open('/proc/sysrq-trigger', 'w').write('h'))`);
    expect(out).toEqual({ sysrq: fs.existsSync('/proc/sysrq-trigger') ? 'EROFS' : 'ENOENT' });
  });

  it('the kernel keyring, bpf and perf_event_open (EPERM from the filter)', async () => {
    expect(
      await attack(`
out['add_key'] = sc('add_key', ctypes.c_char_p(b'user'), ctypes.c_char_p(b'k'), ctypes.c_char_p(b'v'), 1, -2 & 0xffffffff)
out['keyctl'] = sc('keyctl', 0, -3 & 0xffffffff, 0)
out['bpf'] = sc('bpf', 0, 0, 0)
out['perf'] = sc('perf_event_open', 0, 0, -1 & 0xffffffff, -1 & 0xffffffff, 0)
out['kexec'] = sc('kexec_file_load', -1 & 0xffffffff, -1 & 0xffffffff, 0, 0, 0)`),
    ).toEqual({ add_key: 'EPERM', keyctl: 'EPERM', bpf: 'EPERM', perf: 'EPERM', kexec: 'EPERM' });
  });

  it('io_uring, a second path to files and sockets past the checks above (EPERM)', async () => {
    expect(
      await attack(`
params = ctypes.create_string_buffer(120)
out['setup'] = sc('io_uring_setup', 8, params)
out['enter'] = sc('io_uring_enter', 0, 1, 1, 0, 0, 0)
out['register'] = sc('io_uring_register', 0, 0, 0, 0)`),
    ).toEqual({ setup: 'EPERM', enter: 'EPERM', register: 'EPERM' });
  });
});
