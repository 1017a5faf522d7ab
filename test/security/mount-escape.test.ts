// Attack class: rearranging the VFS from inside (CVE-2021-41133 Flatpak) with
// mount, umount2, pivot_root and the new mount API, directly and after a
// nested user namespace (`unshare -Ur`, raw unshare/clone/clone3), which the
// seccomp filter denies; and ABI confusion (x32 numbers, int 0x80).
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../lib';
import { userLabel } from '../helpers';
import { attacker, Fixture, fixture, j, pyRaw } from './lib';

describe(`mounts and nested user namespaces (as ${userLabel})`, () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => f.cleanup());
  const attack = attacker(() => f);
  const cstr = (s: string) => `ctypes.c_char_p(${j(s)}.encode())`;

  it('mount(2): a tmpfs over a read-only tree and a writable bind of the ancestor (EPERM)', async () => {
    expect(
      await attack(`
out['tmpfs'] = sc('mount', ${cstr('none')}, ${cstr(f.O)}, ${cstr('tmpfs')}, 0, 0)
out['bind'] = sc('mount', ${cstr(f.H)}, ${cstr(f.repo)}, 0, 0x1000 | 0x4000, 0)
out['remount rw'] = sc('mount', 0, ${cstr(f.O)}, 0, 0x20 | 0x1000, 0)`),
    ).toEqual({ tmpfs: 'EPERM', bind: 'EPERM', 'remount rw': 'EPERM' });
  });

  it('umount2 of /dev, /proc and a sealed sibling to uncover what is below (EPERM)', async () => {
    expect(
      await attack(`
for p in ['/dev', '/proc', ${j(path.join(f.H, 'sibling'))}, ${j(f.H)}]:
    out[p] = sc('umount2', ctypes.c_char_p(p.encode()), 2)`),
    ).toEqual({ '/dev': 'EPERM', '/proc': 'EPERM', [path.join(f.H, 'sibling')]: 'EPERM', [f.H]: 'EPERM' });
  });

  it('pivot_root and chroot (EPERM)', async () => {
    expect(
      await attack(`
out['pivot_root'] = sc('pivot_root', ${cstr(f.repo)}, ${cstr(f.repo)})
out['chroot'] = attempt(lambda: os.chroot(${j(f.repo)}))`),
    ).toEqual({ pivot_root: 'EPERM', chroot: 'EPERM' });
  });

  it('new mount API: open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr, open_tree_attr (EPERM)', async () => {
    expect(
      await attack(`
out['open_tree'] = sc('open_tree', -100, ${cstr(f.H)}, 1 | 0x8000)
out['move_mount'] = sc('move_mount', -100, ${cstr(f.H)}, -100, ${cstr(f.repo)}, 0)
out['fsopen'] = sc('fsopen', ${cstr('tmpfs')}, 0)
out['fsconfig'] = sc('fsconfig', 3, 6, 0, 0, 0)
out['fsmount'] = sc('fsmount', 3, 0, 0)
out['fspick'] = sc('fspick', -100, ${cstr(f.O)}, 0)
attr = struct.pack('QQQQ', 0, 1, 0, 0)  # clear MOUNT_ATTR_RDONLY
out['mount_setattr'] = sc('mount_setattr', -100, ${cstr(f.O)}, 0x8000, ctypes.c_char_p(attr), len(attr))
out['open_tree_attr'] = sc('open_tree_attr', -100, ${cstr(f.O)}, 1, ctypes.c_char_p(attr), len(attr))`),
    ).toEqual({
      open_tree: 'EPERM',
      move_mount: 'EPERM',
      fsopen: 'EPERM',
      fsconfig: 'EPERM',
      fsmount: 'EPERM',
      fspick: 'EPERM',
      mount_setattr: 'EPERM',
      open_tree_attr: 'EPERM',
    });
  });

  it('`unshare -Ur` fails with EPERM, so nothing can be mounted after it', async () => {
    const before = f.state();
    const r = await run('/usr/bin/unshare', ['-Urm', '/bin/sh', '-c', `mount -t tmpfs none ${f.O} && touch ${f.O}/pwned`], {
      sandbox: f.sandbox,
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('unshare: unshare failed: Operation not permitted');
    expect(f.state()).toEqual(before);
  });

  it('`unshare -r` with only a user namespace fails the same way (nested userns denied)', async () => {
    const r = await run('/usr/bin/unshare', ['-r', 'id', '-u'], { sandbox: f.sandbox });
    expect([r.code, r.stdout, r.stderr.trim()]).toEqual([1, '', 'unshare: unshare failed: Operation not permitted']);
  });

  it('unshare(CLONE_NEWUSER | CLONE_NEWNS) and with high bits set in the flags (EPERM)', async () => {
    expect(
      await attack(`
out['userns'] = sc('unshare', 0x10000000)
out['userns+ns'] = sc('unshare', 0x10000000 | 0x20000)
out['high bits'] = sc('unshare', (1 << 32) | 0x10000000)
out['ns alone'] = sc('unshare', 0x20000)
out['net alone'] = sc('unshare', 0x40000000)`),
    ).toEqual({ userns: 'EPERM', 'userns+ns': 'EPERM', 'high bits': 'EPERM', 'ns alone': 'EPERM', 'net alone': 'EPERM' });
  });

  it('clone(CLONE_NEWUSER) raw, also with bits above 32 that clone ignores (EPERM; no child appears)', async () => {
    expect(
      await attack(`
SIGCHLD = 17
out['clone'] = sc('clone', 0x10000000 | SIGCHLD, 0, 0, 0, 0)
out['clone high'] = sc('clone', (0xffffffff << 32) | 0x10000000 | SIGCHLD, 0, 0, 0, 0)
out['children'] = attempt(lambda: os.waitpid(-1, os.WNOHANG))`),
    ).toEqual({ clone: 'EPERM', 'clone high': 'EPERM', children: 'ECHILD' });
  });

  it('clone3 with CLONE_NEWUSER in its struct (ENOSYS: BPF cannot read it)', async () => {
    expect(
      await attack(`
args = struct.pack('QQQQQQQQ', 0x10000000, 0, 0, 0, 17, 0, 0, 0)
out['clone3'] = sc('clone3', ctypes.c_char_p(args), len(args))`),
    ).toEqual({ clone3: 'ENOSYS' });
  });

  it('setns: the namespaces of the sandbox init cannot be opened (EACCES); entering our own mount ns again needs CAP_SYS_ADMIN (EPERM)', async () => {
    expect(
      await attack(`
setns = 308 if NR['ioctl'] == 16 else 268
out['init user'] = attempt(lambda: os.open('/proc/1/ns/user', os.O_RDONLY))
out['init mnt'] = attempt(lambda: os.open('/proc/1/ns/mnt', os.O_RDONLY))
out['own mnt'] = sc(setns, os.open('/proc/self/ns/mnt', os.O_RDONLY), 0x20000)`),
    ).toEqual({ 'init user': 'EACCES', 'init mnt': 'EACCES', 'own mnt': 'EPERM' });
  });

  it.runIf(process.arch === 'x64')('x32 syscall number for unshare (killed with SIGSYS, host unchanged)', async () => {
    const before = f.state();
    const r = await pyRaw(`sc(0x40000000 | NR['unshare'], 0x10000000); print('survived')`, f.sandbox);
    expect([r.signal, r.stdout]).toEqual(['SIGSYS', '']);
    expect(f.state()).toEqual(before);
  });

  it.runIf(process.arch === 'x64')('i386 syscall through int 0x80 (killed with SIGSYS; the same code runs outside)', async () => {
    // mov eax, 20 (getpid on i386); int 0x80; ret
    const code = `
import mmap
buf = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
buf.write(bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3]))
fn = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))
print('pid', fn())`;
    const r = await pyRaw(code, f.sandbox);
    expect([r.signal, r.stdout]).toEqual(['SIGSYS', '']);
    const { execFileSync } = await import('child_process');
    expect(execFileSync('/usr/bin/python3', ['-c', code.replace(/^/, 'import ctypes\n')], { encoding: 'utf8' })).toMatch(/^pid \d+/);
  });
});
