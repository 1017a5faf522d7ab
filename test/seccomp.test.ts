// The seccomp layer: the BPF program lib/seccomp.ts assembles (run through an
// interpreter over every rule and both architectures), its place in the plan,
// and that the kernel enforces it on the command while real tools keep working.
import { describe, expect, it } from 'vitest';
import { XATTR_SYSCALLS } from '../lib/gen/syscalls';
import {
  AF_VSOCK,
  AUDIT_ARCH,
  BTRFS_SUBVOL_IOCTLS,
  CLONE_NEWUSER,
  CREATE_SYSCALLS,
  DENY_EPERM,
  FS_STATE_SYSCALLS,
  ERRNO,
  F_SETDELEG,
  F_SETLEASE,
  INODE_FLAG_IOCTLS,
  METADATA_SYSCALLS,
  MODE_SYSCALLS,
  OP,
  REFUSED_FS_IOCTLS,
  SECCOMP_RET,
  SUPERVISED_NR,
  SYSCALLS,
  TIOCLINUX,
  TIOCSTI,
  X32_SYSCALL_BIT,
  buildSeccompFilter,
  supervisedSyscalls,
  decodeFilter,
  encodeFilter,
  hostSeccompArch,
  runFilter,
  seccompStepArg,
  SeccompArch,
  supervisionClass,
  supervisionClasses,
} from '../lib/seccomp';
import { SECCOMP_PROGRAMS } from '../lib/gen/seccomp-programs';
import { prepare } from '../lib/spawn';
import { supervision } from '../lib/plan';
import { run } from '../lib';
import { py, pyRaw } from './security/lib';
import { userLabel } from './helpers';

const ARCHES: SeccompArch[] = ['x64', 'arm64'];
/** Four syscall arguments, all zero but `mode` at index `at`. */
const modeAt = (at: number, mode: bigint) => [0n, 0n, 0n, 0n].map((v, i) => (i === at ? mode : v));
const SETID_MODE_SYSCALLS = ['chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'creat', 'mknod', 'mknodat'] as const;
const errno = (e: number) => (SECCOMP_RET.ERRNO | e) >>> 0;
const EPERM = errno(ERRNO.EPERM);
const ALLOW = SECCOMP_RET.ALLOW;
const KILL = SECCOMP_RET.KILL_PROCESS;

describe('seccomp BPF program (unit)', () => {
  for (const arch of ARCHES) {
    const prog = buildSeccompFilter(arch);
    const nr = SYSCALLS[arch];
    const call = (n: number, args: (number | bigint)[] = [], a = AUDIT_ARCH[arch]) => runFilter(prog, { nr: n, arch: a, args });

    describe(arch, () => {
      it('checks the architecture first and kills on any other', () => {
        expect(prog[0]).toEqual({ code: OP.LD_W_ABS, jt: 0, jf: 0, k: 4 });
        expect(prog[1].code).toBe(OP.JEQ_K);
        expect(prog[1].k).toBe(AUDIT_ARCH[arch]);
        for (const other of [
          0x40000003 /* i386 */,
          0x4000003e,
          AUDIT_ARCH[arch === 'x64' ? 'arm64' : 'x64'],
          0x800000b7 /* aarch64 BE */,
          0,
        ]) {
          expect(call(nr.clone, [0], other), `arch ${other.toString(16)}`).toBe(KILL);
          expect(call(39, [], other)).toBe(KILL);
        }
      });

      it(arch === 'x64' ? 'kills x32 syscall numbers' : 'has no x32 rule', () => {
        if (arch === 'x64') {
          for (const n of [X32_SYSCALL_BIT, X32_SYSCALL_BIT | nr.unshare, X32_SYSCALL_BIT | 39, 0xffffffff])
            expect(call(n), n.toString(16)).toBe(KILL);
        } else {
          expect(call(X32_SYSCALL_BIT | 39)).toBe(ALLOW);
        }
      });

      it('denies CLONE_NEWUSER in clone and unshare (low 32 bits of arg0), allows threads and fork', () => {
        for (const n of [nr.clone, nr.unshare]) {
          expect(call(n, [CLONE_NEWUSER])).toBe(EPERM);
          expect(call(n, [CLONE_NEWUSER | 0x20000 /* NEWNS */ | 0x40000000])).toBe(EPERM);
          expect(call(n, [(1n << 32n) | BigInt(CLONE_NEWUSER)])).toBe(EPERM); // high bits do not hide it
          expect(call(n, [0x20000])).toBe(ALLOW); // CLONE_NEWNS alone: the kernel's capability check answers
        }
        expect(call(nr.clone, [0x3d0f00 /* pthread_create */])).toBe(ALLOW);
        expect(call(nr.clone, [0x01200011 /* fork */])).toBe(ALLOW);
        expect(call(nr.clone, [0x4111 /* CLONE_VM|CLONE_VFORK|SIGCHLD */])).toBe(ALLOW);
        expect(call(nr.clone, [0, CLONE_NEWUSER])).toBe(ALLOW); // only arg0 is flags
      });

      it('answers clone3 with ENOSYS whatever its arguments', () => {
        expect(call(nr.clone3, [0, 88])).toBe(errno(ERRNO.ENOSYS));
      });

      it('denies the mount API, io_uring, ptrace, process_vm_*, keys, bpf, perf, kexec with EPERM', () => {
        expect(DENY_EPERM).toEqual(
          expect.arrayContaining([
            'mount',
            'umount2',
            'pivot_root',
            'open_tree',
            'move_mount',
            'fsopen',
            'fsmount',
            'fsconfig',
            'fspick',
            'mount_setattr',
            'io_uring_setup',
            'io_uring_enter',
            'io_uring_register',
            'ptrace',
            'process_vm_readv',
            'process_vm_writev',
            'keyctl',
            'add_key',
            'request_key',
            'bpf',
            'perf_event_open',
            'kexec_load',
            'kexec_file_load',
          ]),
        );
        for (const s of DENY_EPERM) expect(call(nr[s], [0, 0, 0]), s).toBe(EPERM);
      });

      it('answers socket(AF_VSOCK) with EAFNOSUPPORT and allows AF_UNIX, AF_INET, AF_NETLINK, socketpair', () => {
        expect(call(nr.socket, [AF_VSOCK, 1, 0])).toBe(errno(ERRNO.EAFNOSUPPORT));
        expect(call(nr.socket, [(1n << 32n) | BigInt(AF_VSOCK), 1, 0])).toBe(errno(ERRNO.EAFNOSUPPORT));
        for (const fam of [1, 2, 10, 16, 17]) expect(call(nr.socket, [fam, 1, 0]), `family ${fam}`).toBe(ALLOW);
      });

      it('denies TIOCSTI and TIOCLINUX on the low 32 bits of the command, allows other ioctls', () => {
        for (const cmd of [TIOCSTI, TIOCLINUX]) {
          expect(call(nr.ioctl, [0, cmd, 0])).toBe(EPERM);
          expect(call(nr.ioctl, [0, (1n << 32n) | BigInt(cmd), 0])).toBe(EPERM); // CVE-2019-10063
          expect(call(nr.ioctl, [0, (0xffffffffn << 32n) | BigInt(cmd), 0])).toBe(EPERM);
        }
        for (const cmd of [0x5401 /* TCGETS */, 0x5413 /* TIOCGWINSZ */, 0x541b /* FIONREAD */, 0x5411 /* TIOCOUTQ */])
          expect(call(nr.ioctl, [0, cmd])).toBe(ALLOW);
        expect(call(nr.ioctl, [TIOCSTI, 0])).toBe(ALLOW); // the fd is not the command
      });

      it('denies the fs-verity, fscrypt, f2fs compressed-block and ocfs2 reflink ioctls on the low 32 bits', () => {
        expect(REFUSED_FS_IOCTLS).toEqual(
          expect.arrayContaining([
            0x40806685 /* FS_IOC_ENABLE_VERITY */, 0x800c6613 /* FS_IOC_SET_ENCRYPTION_POLICY */,
            0xc0406618 /* FS_IOC_REMOVE_ENCRYPTION_KEY */,
          ]),
        );
        for (const cmd of REFUSED_FS_IOCTLS) {
          expect(call(nr.ioctl, [3, cmd]), cmd.toString(16)).toBe(EPERM);
          expect(call(nr.ioctl, [3, (1n << 32n) | BigInt(cmd)])).toBe(EPERM);
        }
        expect(call(nr.ioctl, [3, 0xc0c09425 /* BTRFS_IOC_SET_RECEIVED_SUBVOL_32 */])).toBe(EPERM);
        // Reads stay allowed: the policy, key status, verity digest.
        for (const cmd of [0x400c6615, 0xc080661a, 0xc0046686]) expect(call(nr.ioctl, [3, cmd])).toBe(ALLOW);
      });

      it('denies fcntl F_SETLEASE and F_SETDELEG whatever the lease type, on the low 32 bits; other fcntl commands and locks are allowed', () => {
        expect(nr.fcntl).toBe(arch === 'x64' ? 72 : 25);
        for (const cmd of [F_SETLEASE, F_SETDELEG]) {
          for (const type of [0 /* F_RDLCK */, 1 /* F_WRLCK */, 2 /* F_UNLCK */]) expect(call(nr.fcntl, [3, cmd, type])).toBe(EPERM);
          expect(call(nr.fcntl, [3, (1n << 32n) | BigInt(cmd), 1])).toBe(EPERM);
        }
        for (const cmd of [
          1 /* F_GETFD */, 4 /* F_SETFL */, 6 /* F_SETLK */, 7 /* F_SETLKW */, 37 /* F_OFD_SETLK */, 1025 /* F_GETLEASE */,
          1026 /* F_NOTIFY */, 1030 /* F_DUPFD_CLOEXEC */,
        ]) {
          expect(call(nr.fcntl, [3, cmd, 1]), `fcntl ${cmd}`).toBe(ALLOW);
        }
        expect(call(nr.fcntl, [F_SETLEASE, 1, 0])).toBe(ALLOW); // the fd is not the command
      });

      it('allows everything else', () => {
        // The chmod family, creat and mknod read a mode: the set-ID test below.
        const watched = new Set([...Object.values(nr), ...SETID_MODE_SYSCALLS.map((s) => SUPERVISED_NR[arch][s])]);
        for (let n = 0; n < 470; n++) if (!watched.has(n)) expect(call(n, [CLONE_NEWUSER, TIOCSTI]), `nr ${n}`).toBe(ALLOW);
      });

      it('encodes struct sock_filter little-endian, 8 bytes each, and round-trips', () => {
        const b = encodeFilter(prog);
        expect(b.length).toBe(prog.length * 8);
        expect(b.subarray(0, 8).toString('hex')).toBe('2000000004000000'); // ld [4]
        expect(decodeFilter(b)).toEqual(prog);
        expect(seccompStepArg(arch)).toBe(b.toString('hex'));
        expect(prog.length).toBeLessThan(110);
        // Every jump lands inside the program; it ends in a return.
        prog.forEach((x, i) => {
          if (x.code === OP.JEQ_K || x.code === OP.JGE_K || x.code === OP.JSET_K)
            expect(i + 1 + Math.max(x.jt, x.jf)).toBeLessThan(prog.length);
        });
        expect(prog[prog.length - 1].code).toBe(OP.RET_K);
      });
    });
  }

  it('set-ID modes, in every class: chmod family u+s EPERM, g+s to init (directories only) or EPERM without one; creating opens, O_TMPFILE, creat and mknod with either bit EPERM; openat2 ENOSYS', () => {
    const NOTIFY = SECCOMP_RET.USER_NOTIF;
    const ENOSYS = errno(ERRNO.ENOSYS);
    const HIGH = 1n << 32n; // the kernel takes a mode's low 32 bits only
    for (const arch of ARCHES) {
      const snr = SUPERVISED_NR[arch];
      for (const sup of supervisionClasses()) {
        const prog = buildSeccompFilter(arch, sup);
        const name = `${arch} ${supervisionClass(sup)}`;
        const call = (s: string, args: (number | bigint)[]) =>
          runFilter(prog, { nr: (snr as Record<string, number | undefined>)[s]!, arch: AUDIT_ARCH[arch], args });
        const has = (s: string) => (snr as Record<string, number | undefined>)[s] !== undefined;
        const supervising = !!(sup.metadata || sup.create || sup.rename || sup.sockets || sup.writes);
        const modeToInit = !!(sup.metadata || sup.writes);
        for (const [s, at] of [
          ['chmod', 1],
          ['fchmod', 1],
          ['fchmodat', 2],
          ['fchmodat2', 2],
        ] as const) {
          if (!has(s)) continue;
          const args = (mode: bigint) => modeAt(at, mode);
          expect(call(s, args(0o4755n)), `${name} ${s} u+s`).toBe(EPERM);
          expect(call(s, args(HIGH | 0o4000n)), `${name} ${s} u+s, high bits`).toBe(EPERM);
          expect(call(s, args(0o2755n)), `${name} ${s} g+s`).toBe(supervising ? NOTIFY : EPERM);
          expect(call(s, args(HIGH | 0o755n)), `${name} ${s} plain`).toBe(modeToInit ? NOTIFY : ALLOW);
        }
        for (const [s, at] of [
          ['creat', 1],
          ['mknod', 1],
          ['mknodat', 2],
        ] as const) {
          if (!has(s)) continue;
          const args = (mode: bigint) => modeAt(at, mode);
          for (const m of [0o104755n, 0o102755n, 0o4000n, 0o2000n]) expect(call(s, args(m)), `${name} ${s} ${m.toString(8)}`).toBe(EPERM);
          // creat opens for writing: with `writes` it goes to init too.
          expect(call(s, args(0o100644n)), `${name} ${s} plain`).toBe(sup.create || (s === 'creat' && sup.writes) ? NOTIFY : ALLOW);
        }
        for (const [s, at] of [
          ['open', 1],
          ['openat', 2],
        ] as const) {
          if (!has(s)) continue;
          const args = (flags: bigint, mode: bigint) => [0n, 0n, 0n, 0n].map((v, i) => (i === at ? flags : i === at + 1 ? mode : v));
          for (const flags of [0o100n | 1n, 0o20000000n | 0o200000n | 1n])
            for (const m of [0o4755n, 0o2755n])
              expect(call(s, args(flags, m)), `${name} ${s} ${flags.toString(8)} ${m.toString(8)}`).toBe(EPERM);
          // Without O_CREAT or O_TMPFILE the mode is not used: garbage there changes nothing.
          expect(call(s, args(0n, 0o6777n)), `${name} ${s} read, garbage mode`).toBe(ALLOW);
          expect(call(s, args(0o100n | 1n, 0o644n)), `${name} ${s} O_CREAT 0644`).toBe(sup.create || sup.writes ? NOTIFY : ALLOW);
        }
        expect(runFilter(prog, { nr: SYSCALLS[arch].openat2, arch: AUDIT_ARCH[arch], args: [] }), `${name} openat2`).toBe(ENOSYS);
      }
    }
  });

  it('refuses an architecture it has no table for (fail closed)', () => {
    expect(() => seccompStepArg('ia32')).toThrow(/no seccomp filter for architecture ia32/);
    expect(() => hostSeccompArch('riscv64')).toThrow(/refusing to run unfiltered/);
  });

  it('every call the filter sends to init is in the supervise table of the same class (else init answers ENOSYS)', () => {
    // Argument shapes that reach each notify branch: flags of clone/unshare, an address for sendto, O_CREAT, ioctls.
    const shapes: bigint[][] = [
      [0n],
      [BigInt(0x200)],
      [BigInt(0x10000)],
      [BigInt(0x20000)],
      [0n, 0n, 0n, 0n, 1n],
      [0n, 0o100n, 0o100n],
      [0n, BigInt(INODE_FLAG_IOCTLS[0])],
      [(1n << 64n) - 1n, (1n << 64n) - 1n],
    ];
    for (const arch of ARCHES) {
      for (const sup of supervisionClasses()) {
        const insns = buildSeccompFilter(arch, sup);
        const table = new Set(supervisedSyscalls(arch, sup).map((a) => Number(a.slice(4, a.indexOf(':')))));
        for (let nr = 0; nr < 512; nr++) {
          for (const args of shapes) {
            const ret = runFilter(insns, { nr, arch: AUDIT_ARCH[arch], args: [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6) });
            if (ret === SECCOMP_RET.USER_NOTIF)
              expect(table.has(nr), `${arch} ${supervisionClass(sup)}: nr ${nr} is notified but not in the table`).toBe(true);
          }
        }
      }
    }
  });

  it('the plan carries the generated program of each class, which is what buildSeccompFilter assembles now (else: node scripts/gen-protocol.js)', () => {
    expect(supervisionClasses()).toHaveLength(32);
    for (const arch of ARCHES) {
      expect(Object.keys(SECCOMP_PROGRAMS[arch]).sort()).toEqual(supervisionClasses().map(supervisionClass).sort());
      for (const sup of supervisionClasses()) {
        expect(seccompStepArg(arch, sup), `${arch} ${supervisionClass(sup)}`).toBe(
          encodeFilter(buildSeccompFilter(arch, sup)).toString('hex'),
        );
      }
    }
    // An omitted rename is no rename; a field the table does not know fails instead of being ignored.
    expect(seccompStepArg('x64', { metadata: true, create: false })).toBe(SECCOMP_PROGRAMS.x64.metadata());
    expect(() => seccompStepArg('x64', { metadata: false, create: false, connect: true } as never)).toThrow(
      /Supervision.connect is not in SUPERVISION_FLAGS/,
    );
  });

  it('is one plan step, after no_new_privs, drop_caps and Landlock, immediately before env and exec', () => {
    for (const sandbox of [{ writableRoots: [] as string[] }, { mode: 'full' as const }]) {
      const { plan } = prepare('/bin/true', [], { sandbox, env: { A: '1', B: '2' } });
      const ops = plan.steps;
      const names = ops.map((s) => s.op);
      const i = names.indexOf('seccomp');
      expect(names.filter((n) => n === 'seccomp')).toHaveLength(1);
      expect(names.slice(i + 1)).toEqual(['env', 'env', 'env', 'exec']); // A, B and SBX_NATIVE_SANDBOX=1
      expect(ops.at(-2)!.args).toEqual(['SBX_NATIVE_SANDBOX=1']);
      expect(names.indexOf('no_new_privs')).toBeLessThan(i);
      expect(names.indexOf('drop_caps')).toBeLessThan(i);
      if (sandbox.mode !== 'full') expect(names.indexOf('landlock_restrict')).toBeLessThan(i);
      // Whether init supervises depends on where this checkout lies (its own files are guarded when a root holds them).
      const sup = supervision(plan.layout, plan.level !== 'landlock-only');
      const supervising = sup.metadata || sup.create || sup.rename || sup.sockets;
      expect(ops[i].args).toEqual(supervising ? [seccompStepArg(process.arch, sup), 'listen-killable'] : [seccompStepArg()]);
    }
  });
});

describe('seccomp BPF program with supervision (unit)', () => {
  const NOTIFY = SECCOMP_RET.USER_NOTIF;
  const ENOSYS = errno(ERRNO.ENOSYS);
  for (const arch of ARCHES) {
    const snr = SUPERVISED_NR[arch];
    const nr = SYSCALLS[arch];
    const filter = (metadata: boolean, create: boolean) => {
      const prog = buildSeccompFilter(arch, { metadata, create });
      return (n: number, args: (number | bigint)[] = []) => runFilter(prog, { nr: n, arch: AUDIT_ARCH[arch], args });
    };
    describe(arch, () => {
      it('metadata: every chmod/chown/utimes/xattr syscall and the inode-flag ioctls go to init, nothing else', () => {
        const call = filter(true, false);
        for (const s of METADATA_SYSCALLS) if (snr[s] !== undefined) expect(call(snr[s]!), s).toBe(NOTIFY);
        expect(INODE_FLAG_IOCTLS).toEqual(
          expect.arrayContaining([
            0x40086604 /* EXT4_IOC_SETVERSION */, 0x40046604, 0x6609 /* EXT4_IOC_MIGRATE */, 0x4004f50d /* F2FS_IOC_SET_PIN_FILE */,
          ]),
        );
        for (const cmd of INODE_FLAG_IOCTLS) {
          expect((cmd >>> 30) & 2, `${cmd.toString(16)} must not be _IOR: init writes nothing back`).toBe(0);
          expect(call(nr.ioctl, [3, cmd])).toBe(NOTIFY);
          expect(call(nr.ioctl, [3, (1n << 32n) | BigInt(cmd)])).toBe(NOTIFY); // the kernel reads an unsigned int
        }
        expect(call(nr.ioctl, [3, 0x80086601 /* FS_IOC_GETFLAGS */])).toBe(ALLOW);
        expect(call(nr.ioctl, [3, 0x80087601 /* FS_IOC_GETVERSION */])).toBe(ALLOW);
        expect(call(nr.ioctl, [3, TIOCSTI])).toBe(EPERM);
        for (const cmd of REFUSED_FS_IOCTLS) expect(call(nr.ioctl, [3, cmd])).toBe(EPERM);
        expect(call(nr.fcntl, [3, F_SETLEASE, 0])).toBe(EPERM);
        expect(call(469 /* file_setattr */)).toBe(ENOSYS);
        for (const s of CREATE_SYSCALLS) if (snr[s] !== undefined) expect(call(snr[s]!), s).toBe(ALLOW);
        expect(call(snr.openat!, [-100, 0, 0o101])).toBe(ALLOW);
        expect(call(446 /* landlock_restrict_self */)).toBe(ALLOW);
      });

      it('create: name-making syscalls, and open/openat/creat only with O_CREAT', () => {
        const call = filter(false, true);
        for (const s of CREATE_SYSCALLS) if (snr[s] !== undefined) expect(call(snr[s]!), s).toBe(NOTIFY);
        expect(call(snr.openat!, [-100, 0, 0o101 /* O_WRONLY|O_CREAT */])).toBe(NOTIFY);
        expect(call(snr.openat!, [-100, 0, 0o2 /* O_RDWR */])).toBe(ALLOW);
        expect(call(snr.openat!, [-100, 0, 0o20200000 /* O_TMPFILE, no O_CREAT */])).toBe(ALLOW);
        expect(call(snr.openat!, [-100, 0, 0o101, 0o644])).toBe(NOTIFY);
        if (arch === 'x64') {
          expect(call(snr.open!, [0, 0o101])).toBe(NOTIFY);
          expect(call(snr.open!, [0, 0])).toBe(ALLOW);
          expect(call(snr.creat!, [0, 0o644])).toBe(NOTIFY);
        }
        expect(call(437 /* openat2 */)).toBe(ENOSYS);
        expect(call(446 /* landlock_restrict_self */)).toBe(EPERM);
        for (const s of METADATA_SYSCALLS) if (snr[s] !== undefined) expect(call(snr[s]!), s).toBe(ALLOW);
      });

      it('writes (the repository model in every git directory): opens that can change a file go to init too; reads and O_PATH do not', () => {
        const prog = buildSeccompFilter(arch, { metadata: false, create: true, writes: true });
        const call = (n: number, args: (number | bigint)[] = []) => runFilter(prog, { nr: n, arch: AUDIT_ARCH[arch], args });
        for (const flags of [
          0o1 /* O_WRONLY */, 0o2 /* O_RDWR */, 0o3, 0o1000 /* O_TRUNC */, 0o2001 /* O_WRONLY|O_APPEND */, 0o101,
          0o20200002 /* O_TMPFILE|O_RDWR */,
        ])
          expect(call(snr.openat!, [-100, 0, flags]), flags.toString(8)).toBe(NOTIFY);
        for (const flags of [0, 0o4000 /* O_NONBLOCK */, 0o200000 /* O_DIRECTORY */, 0o10000001 /* O_PATH|O_WRONLY: ignored */])
          expect(call(snr.openat!, [-100, 0, flags]), flags.toString(8)).toBe(ALLOW);
        // The kernel takes the flags as an int: high bits set do not make a read a write.
        expect(call(snr.openat!, [-100, 0, 0xffffffff00000000n])).toBe(ALLOW);
        if (arch === 'x64') {
          expect(call(snr.open!, [0, 0o2])).toBe(NOTIFY);
          expect(call(snr.open!, [0, 0])).toBe(ALLOW);
        }
        // An access ACL sets the mode (setfacl u::rwx is chmod u+x): the xattr family goes to init with chmod, and is in the table.
        expect(XATTR_SYSCALLS.length).toBe(8);
        for (const s of [...XATTR_SYSCALLS, ...MODE_SYSCALLS])
          if (snr[s] !== undefined) expect(call(snr[s]!, [0, 0, 0o644]), s).toBe(NOTIFY);
        const table = supervisedSyscalls(arch, { metadata: false, create: true, writes: true }).map((e) => e.split(':')[1]);
        for (const s of XATTR_SYSCALLS) if (snr[s] !== undefined) expect(table, s).toContain(s);
        // Without it (allowGitWrites): only O_CREAT, as before, and no xattr.
        const without = filter(false, true);
        expect(without(snr.openat!, [-100, 0, 0o2001])).toBe(ALLOW);
        for (const s of XATTR_SYSCALLS) if (snr[s] !== undefined) expect(without(snr[s]!), s).toBe(ALLOW);
      });

      it('renames only: rename/renameat/renameat2 go to init (and landlock_restrict_self is refused), O_CREAT opens and the rest do not', () => {
        const prog = buildSeccompFilter(arch, { metadata: false, create: false, rename: true });
        const call = (n: number, args: (number | bigint)[] = []) => runFilter(prog, { nr: n, arch: AUDIT_ARCH[arch], args });
        const renames = ['rename', 'renameat', 'renameat2'] as const;
        for (const s of renames) if (snr[s] !== undefined) expect(call(snr[s]!), s).toBe(NOTIFY);
        for (const s of CREATE_SYSCALLS)
          if (snr[s] !== undefined && !(renames as readonly string[]).includes(s)) expect(call(snr[s]!), s).toBe(ALLOW);
        expect(call(snr.openat!, [-100, 0, 0o101])).toBe(ALLOW);
        expect(call(446 /* landlock_restrict_self */)).toBe(EPERM);
        expect(call(437 /* openat2 */)).toBe(ENOSYS);
        const table = supervisedSyscalls(arch, { metadata: false, create: false, rename: true });
        expect(table.map((e) => e.split(':')[1]).sort()).toEqual(
          [...renames, ...FS_STATE_SYSCALLS, ...MODE_SYSCALLS].filter((s) => snr[s] !== undefined).sort(),
        );
        for (const s of METADATA_SYSCALLS) if (snr[s] !== undefined) expect(call(snr[s]!), s).toBe(ALLOW);
      });

      it('btrfs subvolume ioctls are refused with or without supervision; FICLONE (cp --reflink) is not', () => {
        for (const call of [filter(false, false), filter(true, true)]) {
          for (const cmd of BTRFS_SUBVOL_IOCTLS) expect(call(nr.ioctl, [3, cmd])).toBe(EPERM);
          expect(call(nr.ioctl, [3, 0x40049409 /* FICLONE */])).toBe(ALLOW);
          expect(call(nr.ioctl, [3, 0xc0189436 /* FIDEDUPERANGE */])).toBe(ALLOW);
        }
        expect(filter(true, true)(arch === 'x64' ? 323 : 282 /* userfaultfd */)).toBe(EPERM);
      });

      it('a nested filter may not take a listener of its own; other filters are fine', () => {
        const call = filter(true, true);
        const seccomp = arch === 'x64' ? 317 : 277;
        expect(call(seccomp, [1 /* SET_MODE_FILTER */, 1 << 3 /* NEW_LISTENER */, 0])).toBe(EPERM);
        expect(call(seccomp, [1, (1 << 3) | 1, 0])).toBe(EPERM);
        expect(call(seccomp, [1, 0, 0])).toBe(ALLOW);
        expect(call(seccomp, [2 /* GET_ACTION_AVAIL */, 1 << 3, 0])).toBe(ALLOW);
        expect(filter(false, false)(seccomp, [1, 1 << 3, 0])).toBe(ALLOW); // nothing supervised: nothing to protect
      });

      it('init hears of every change to the umask and cwd it caches: umask, chdir, fchdir, and clone/unshare that split or share an fs_struct', () => {
        for (const call of [filter(true, false), filter(false, true)]) {
          for (const s of ['umask', 'chdir', 'fchdir', 'setns'] as const) expect(call(snr[s]!), s).toBe(NOTIFY);
          const VM = 0x100,
            FS = 0x200,
            FILES = 0x400,
            SIGHAND = 0x800,
            THREAD = 0x10000,
            NEWNS = 0x20000,
            VFORK = 0x4000;
          const pthread = VM | FS | FILES | SIGHAND | THREAD | 0x80000 | 0x100000 | 0x200000; // glibc's pthread_create
          expect(call(nr.clone, [pthread])).toBe(ALLOW);
          expect(call(nr.clone, [17 /* fork: SIGCHLD */])).toBe(ALLOW);
          expect(call(nr.clone, [VM | VFORK | 17 /* posix_spawn */])).toBe(ALLOW);
          expect(call(nr.clone, [pthread & ~FS])).toBe(NOTIFY); // a thread with an fs_struct of its own
          expect(call(nr.clone, [FS | 17])).toBe(NOTIFY); // a process sharing its parent's
          expect(call(nr.clone, [0x10000000 | FS | 17 /* CLONE_NEWUSER */])).toBe(EPERM);
          expect(call(nr.unshare, [FS])).toBe(NOTIFY);
          expect(call(nr.unshare, [NEWNS])).toBe(NOTIFY); // implies CLONE_FS
          expect(call(nr.unshare, [FILES])).toBe(ALLOW);
          expect(call(nr.unshare, [0x10000000 | FS])).toBe(EPERM);
          expect(call(nr.clone3, [0])).toBe(ENOSYS); // its flags are out of BPF's reach: libcs fall back to clone
        }
        const none = filter(false, false);
        for (const s of ['umask', 'chdir', 'fchdir', 'setns'] as const) expect(none(snr[s]!), s).toBe(ALLOW);
        expect(none(nr.clone, [0x200 | 17])).toBe(ALLOW);
        expect(none(nr.unshare, [0x200])).toBe(ALLOW);
      });

      it('the supervise table names every number the filter sends, and only those', () => {
        const table = supervisedSyscalls(arch, { metadata: true, create: true });
        const call = filter(true, true);
        const listed = new Set(table.map((e) => Number(/^sys=(\d+):/.exec(e)![1])));
        const o_creat = [0o101, 0o101, 0o101, 0o101]; // O_CREAT wherever open/openat keep their flags
        for (let n = 0; n < 512; n++) {
          if (n === nr.ioctl) continue;
          const args = n === nr.clone || n === nr.unshare ? [0x200 /* CLONE_FS */] : o_creat;
          expect(call(n, args) === NOTIFY, `syscall ${n}`).toBe(listed.has(n));
        }
        expect(listed.has(nr.ioctl)).toBe(true);
      });
    });
  }
});

describe(`seccomp enforced by the kernel (as ${userLabel})`, () => {
  const none = { writableRoots: [] as string[] };

  it('shows Seccomp: 2 with one filter in /proc/self/status of the command', async () => {
    const r = await run('/bin/cat', ['/proc/self/status'], { sandbox: none });
    expect(r.stdout).toMatch(/^Seccomp:\s+2$/m);
    expect(r.stdout).toMatch(/^Seccomp_filters:\s+1$/m);
  });

  it('returns the errno the program says for each denied syscall', async () => {
    const out = await py(
      `
out['unshare NEWUSER'] = sc('unshare', 0x10000000)
out['clone NEWUSER'] = sc('clone', 0x10000000 | 17, 0, 0, 0, 0)
out['clone3'] = sc('clone3', 0, 0)
for s in ${JSON.stringify(DENY_EPERM)}:
    out[s] = sc(s, 0, 0, 0, 0, 0)
out['socket vsock'] = attempt(lambda: socket.socket(40, socket.SOCK_STREAM))
`,
      none,
    );
    const expected: Record<string, string> = {
      'unshare NEWUSER': 'EPERM',
      'clone NEWUSER': 'EPERM',
      clone3: 'ENOSYS',
      'socket vsock': 'EAFNOSUPPORT',
    };
    for (const s of DENY_EPERM) expected[s] = 'EPERM';
    expect(out).toEqual(expected);
  });

  it('keeps threads, fork, socketpair, AF_UNIX, AF_NETLINK route and terminal ioctls working', async () => {
    const out = await py(
      `
import threading, subprocess
t = threading.Thread(target=lambda: out.__setitem__('thread', 'ok')); t.start(); t.join()
pid = os.fork()
if pid == 0: os._exit(7)
out['fork'] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
out['subprocess'] = subprocess.run(['/bin/echo', 'hi'], capture_output=True).stdout.decode().strip()
out['socketpair'] = attempt(lambda: socket.socketpair())
out['unix'] = attempt(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
out['inet'] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
out['netlink route'] = attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
r, w = os.pipe()
import fcntl, termios
out['FIONREAD'] = attempt(lambda: fcntl.ioctl(r, termios.FIONREAD, b'\\0\\0\\0\\0'))
`,
      none,
    );
    expect(out).toEqual({
      thread: 'ok',
      fork: 7,
      subprocess: 'hi',
      socketpair: 'ok',
      unix: 'ok',
      inet: 'ok',
      'netlink route': 'ok',
      FIONREAD: 'ok',
    });
    const ip = await run('/bin/ip', ['-o', 'link'], { sandbox: none });
    expect(ip.stdout).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    const node = await run(
      process.execPath,
      [
        '-e',
        'require("fs").readFileSync("/etc/hostname"); require("worker_threads"); new (require("worker_threads").Worker)("process.exit(0)", { eval: true }).on("exit", (c) => console.log("worker", c))',
      ],
      { sandbox: none },
    );
    expect(node.stdout.trim()).toBe('worker 0');
  });

  it.runIf(process.arch === 'x64')('kills a process that uses an x32 syscall number (SIGSYS)', async () => {
    const r = await pyRaw(`sc(0x40000000 | NR['unshare'], 0x10000000); print('survived')`, none);
    expect(r.signal).toBe('SIGSYS');
    expect(r.stdout).toBe('');
  });
});
