// The seccomp policy: a classic-BPF program assembled here and carried in the
// plan as one step, `seccomp <hex of struct sock_filter[]>`; the helper only
// decodes and installs it (native/helper/ops_seccomp.cc), last before exec.
//
// What it denies, and why (see docs/threat-model.md):
// - a foreign architecture (i386 through `int 0x80`, anything not the host's
//   64-bit ABI) and x32 syscall numbers: kill, because the numbers below would
//   mean something else there;
// - new user namespaces (unshare/clone with CLONE_NEWUSER): EPERM. They give
//   back every capability and the mount API inside; clone3 carries its flags in
//   memory BPF cannot read, so it gets ENOSYS and libcs fall back to clone;
// - the mount API (mount, umount2, pivot_root, open_tree[_attr], move_mount,
//   fsopen, fsconfig, fsmount, fspick, mount_setattr): EPERM;
// - io_uring (a second path to the VFS and sockets), ptrace,
//   process_vm_readv/writev, the key retention service, bpf,
//   perf_event_open, kexec: EPERM;
// - AF_VSOCK sockets (reach the hypervisor, not namespaced): EAFNOSUPPORT;
// - ioctl TIOCSTI / TIOCLINUX, compared on the low 32 bits of the command
//   because the kernel ignores the high ones (CVE-2019-10063): EPERM;
// - the btrfs ioctls that create or delete subvolumes and snapshots or flip
//   their read-only flag: they make names and change metadata with no
//   Landlock hook on the way: EPERM;
// - the filesystem ioctls that change a file or the filesystem for good and
//   that init could not perform faithfully (REFUSED_FS_IOCTLS: fs-verity,
//   fscrypt policies and keys, f2fs compressed-block release, the ocfs2
//   reflink that makes a name): EPERM;
// - fcntl F_SETLEASE / F_SETDELEG: a lease makes every other opener of the
//   file, the host's included, wait for the lease-break time: EPERM;
// - set-ID files: a set-user-ID mode in the chmod family, and a set-user-ID or
//   set-group-ID mode in a creating open (O_CREAT, O_TMPFILE), creat, mknod
//   and mknodat: EPERM. A file made so in a writable root stays on the host,
//   and whoever runs it there runs as the sandbox's user (a root caller's
//   uid 0 is itself inside). A set-group-ID chmod goes to init where there is
//   one, which allows it on directories only (group inheritance, as git's
//   shared repositories use): EPERM where there is none;
// - openat2: ENOSYS, its flags and mode are in a struct BPF cannot read
//   (callers fall back to openat).
// Everything else is allowed: clone for threads and fork, socketpair, AF_UNIX,
// AF_NETLINK and the rest of the socket families.
//
// With supervision (docs/supervisor.md), some syscalls are handed to init,
// which performs them after a check (SECCOMP_RET_USER_NOTIF):
// - metadata changes (chmod, chown, utimes, xattrs, the inode ioctls of
//   INODE_FLAG_IOCTLS), which Landlock does not cover;
// - syscalls that create a name (mkdir, mknod, symlink, link, rename, bind,
//   and open/openat/creat with O_CREAT), so protected names cannot appear;
// - with `writes` too, open/openat for writing (O_WRONLY, O_RDWR, O_TRUNC)
//   without O_CREAT, chmod (an existing hook made executable) and the
//   extended attributes (an access ACL sets the mode too: setfacl u+x), so
//   init can refuse writing what git reads as config or runs in any git
//   directory (native/helper/supervisor/git_control.cc).
// Then also: userfaultfd is refused (a page that faults forever would stall
// init while it reads a path), file_setattr gets ENOSYS (its argument is in a
// struct BPF cannot read; callers fall back to the ioctl), a nested
// filter may not have a listener of its own (it would answer before ours),
// and with creation or renames supervised landlock_restrict_self is refused
// (init performs them in the base domain, which would skip a nested one).
// And init hears of every change to what it caches of a caller (the umask and
// cwd of its fs_struct, docs/supervisor.md): umask, chdir, fchdir, setns, unshare
// with CLONE_FS (or CLONE_NEWNS, which implies it), and a clone that makes a
// thread with an fs_struct of its own or a process sharing its parent's;
// init notes them and lets the kernel perform them (CONTINUE).

// Names and numbers of the syscalls come from protocol/syscalls.json.
import {
  CREATE_SYSCALLS,
  FS_STATE_SYSCALLS,
  INODE_IOCTL_SYSCALLS,
  METADATA_SYSCALLS,
  MODE_SYSCALLS,
  OPEN_SYSCALLS,
  RENAME_SYSCALLS,
  SOCKET_SYSCALLS,
  SUPERVISED_NR,
  SYSCALLS,
  SeccompArch,
  SupervisedSyscall,
  Syscall,
  XATTR_SYSCALLS,
} from './gen/syscalls';
import { SECCOMP_PROGRAMS } from './gen/seccomp-programs';

import { Asm, BPF_MAXINSNS, DATA, decodeFilter, encodeFilter, Insn, OP, runFilter } from './bpf';

// Where callers have always found them.
export { BPF_MAXINSNS, DATA, decodeFilter, encodeFilter, OP, runFilter };
export type { Insn };
export { CREATE_SYSCALLS, FS_STATE_SYSCALLS, METADATA_SYSCALLS, MODE_SYSCALLS, SOCKET_SYSCALLS, SUPERVISED_NR, SYSCALLS };
export type { SeccompArch, SupervisedSyscall, Syscall };

// linux/audit.h: EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
export const AUDIT_ARCH: Record<SeccompArch, number> = {
  x64: 0xc000003e,
  arm64: 0xc00000b7,
};

export const X32_SYSCALL_BIT = 0x40000000;

// linux/seccomp.h
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  ALLOW: 0x7fff0000,
} as const;

// asm-generic/errno-base.h, errno.h (identical on x86_64 and aarch64)
export const ERRNO = { EPERM: 1, ENOSYS: 38, EAFNOSUPPORT: 97 } as const;

// linux/sched.h, linux/socket.h, asm-generic/ioctls.h
export const CLONE_NEWUSER = 0x10000000;
// sched.h: what clone and unshare share or copy of the fs_struct (umask, cwd, root).
export const CLONE_FS = 0x200;
export const CLONE_THREAD = 0x10000;
export const CLONE_NEWNS = 0x20000;
export const AF_VSOCK = 40;
export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;
// The ioctl numbers below are the same on x86_64 and aarch64: both use the
// generic _IOC encoding (dir << 30 | size << 16 | type << 8 | nr) and an
// 8-byte long. docs/threat-model.md has the whole audit, one row per ioctl.
//
// Inode changes an owner may make, all _IO or _IOW (init copies the argument in
// and writes nothing back, native/helper/supervisor/metadata.cc change_inode_flags):
// with supervision they go to init, refused on the chain, performed elsewhere.
// linux/fs.h FS_IOC_SETFLAGS (long, int), FS_IOC_FSSETXATTR, FS_IOC_SETVERSION
// (long, int); linux/ext4.h EXT4_IOC_SETVERSION (long, int: the inode
// generation and ctime), EXT4_IOC_MIGRATE (indirect blocks to extents, the
// inode's "e" flag); linux/f2fs.h F2FS_IOC_SET_PIN_FILE (no owner check).
export const INODE_FLAG_IOCTLS = [
  0x40086602, 0x40046602, 0x401c5820, 0x40087602, 0x40047602, 0x40086604, 0x40046604, 0x00006609, 0x4004f50d,
];
// linux/btrfs.h: SNAP_CREATE, SUBVOL_CREATE, SNAP_DESTROY, SNAP_CREATE_V2,
// SUBVOL_CREATE_V2, SUBVOL_SETFLAGS, SET_RECEIVED_SUBVOL, SNAP_DESTROY_V2, and
// SET_RECEIVED_SUBVOL_32 (its packed 32-bit layout, which 64-bit kernels
// take on the native ioctl too).
export const BTRFS_SUBVOL_IOCTLS = [
  0x50009401, 0x5000940e, 0x5000940f, 0x50009417, 0x50009418, 0x4008941a, 0xc0c89425, 0x5000943f, 0xc0c09425,
];
// Refused whatever the plan. Each changes a file or the filesystem for good,
// and init cannot perform it for the chain check: its argument holds pointers
// into the caller's memory, its size depends on its contents, or a result goes
// back through it. The keyring ones need no writable mount at all.
// linux/fsverity.h FS_IOC_ENABLE_VERITY: the file can never be written again,
//   and it needs only a read-only fd plus write permission bits;
// linux/fscrypt.h FS_IOC_SET_ENCRYPTION_POLICY (an empty directory the host
//   made becomes unusable without the key), FS_IOC_GET_ENCRYPTION_PWSALT
//   (writes a salt into the superblock the first time), FS_IOC_ADD_ENCRYPTION_KEY,
//   FS_IOC_REMOVE_ENCRYPTION_KEY, _ALL_USERS (the filesystem keyring, charged
//   to and shared with the user's own claims; keyctl is refused for the same reason);
// linux/f2fs.h F2FS_IOC_RELEASE_COMPRESS_BLOCKS / RESERVE_COMPRESS_BLOCKS: no
//   owner check, and a released file cannot be written;
// fs/ocfs2/ocfs2_ioctl.h OCFS2_IOC_REFLINK: makes a name from a path, past
//   Landlock's and init's checks.
export const REFUSED_FS_IOCTLS = [
  0x40806685, 0x800c6613, 0x40106614, 0xc0506617, 0xc0406618, 0xc0406619, 0x8008f512, 0x8008f513, 0x40186f04,
];
// linux/fcntl.h: F_SETLEASE, and F_SETDELEG (6.19) which takes the same lease.
export const F_SETLEASE = 1024;
export const F_SETDELEG = 1040;
// asm-generic/fcntl.h (x86_64 and aarch64), linux/seccomp.h
export const O_CREAT = 0o100;
// O_WRONLY | O_RDWR (O_ACCMODE), O_TRUNC: an open that can change the file; O_PATH ignores them.
export const O_WRITES = 0o3 | 0o1000;
export const O_PATH = 0o10000000;
// __O_TMPFILE: an unnamed file made with the open's mode, that linkat can name.
export const O_TMPFILE_BIT = 0o20000000;
// linux/stat.h
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;

/** What init supervises: metadata changes, name creation (renames included), or renames only. */
export interface Supervision {
  metadata: boolean;
  create: boolean;
  /** Renames, also without `create`: directories above protected paths must stay where they are. */
  rename?: boolean;
  /**
   * The unix-socket rule: bind, connect, addressed sendto, sendmsg and
   * sendmmsg go to init, which lets a pathname unix socket be reached only
   * when this sandbox bound it or the policy allows it (docs/supervisor.md).
   */
  sockets?: boolean;
  /**
   * Opens for writing (and creating ones) go to init too, which refuses
   * writing git's config and hooks in any git directory (the repository
   * model) and any protected or guarded file through a second name.
   */
  writes?: boolean;
}

/** Where the mode is, by syscall: the filter reads it for set-ID bits (buildSeccompFilter). */
const SETID_MODE_ARGS: [SupervisedSyscall, string][] = [
  ['chmod', 'chmod@1'],
  ['fchmod', 'chmod@1'],
  ['fchmodat', 'chmod@2'],
  ['fchmodat2', 'chmod@2'],
  ['creat', 'creat@1'],
  ['mknod', 'make@1'],
  ['mknodat', 'make@2'],
];
/** The name-making syscalls whose mode the filter reads before it sends them to init. */
const MAKES_WITH_MODE = SETID_MODE_ARGS.map(([s]) => s).filter((s) => CREATE_SYSCALLS.includes(s));

/** Whether the plan has init answer any call: the filter and the supervise table must agree. */
const isSupervising = (sup: Supervision) => sup.metadata || sup.create || !!sup.rename || !!sup.sockets || !!sup.writes;

/** The bind and sends that the unix-socket rule supervises (bind notes this sandbox's own sockets). */
const SOCKET_RULE_SYSCALLS: SupervisedSyscall[] = ['bind', ...SOCKET_SYSCALLS];

/** The open class: truncate(2) by name only with `writes` (it makes no name, it changes a file). */
const opens = (sup: Supervision) => OPEN_SYSCALLS.filter((s) => s !== 'truncate' || !!sup.writes);

/** The `sys=NR:NAME` table of the supervise step: which numbers init must answer, and how. */
export function supervisedSyscalls(arch: SeccompArch, sup: Supervision): string[] {
  // The same test as buildSeccompFilter's: every call the filter sends to init is in this table.
  const supervising = isSupervising(sup);
  const names: SupervisedSyscall[] = [
    ...(supervising ? FS_STATE_SYSCALLS : []),
    // The chmod family whenever init is there: a set-group-ID mode goes to it (directories only).
    ...(sup.metadata ? METADATA_SYSCALLS : supervising ? MODE_SYSCALLS : []),
    ...(sup.create ? [...CREATE_SYSCALLS, ...opens(sup)] : sup.rename ? RENAME_SYSCALLS : []),
    ...(sup.writes && !sup.create ? opens(sup) : []),
    ...(sup.metadata ? INODE_IOCTL_SYSCALLS : []),
    ...(sup.writes && !sup.metadata ? XATTR_SYSCALLS : []),
    ...(sup.sockets ? SOCKET_RULE_SYSCALLS.filter((n) => !(sup.create && CREATE_SYSCALLS.includes(n))) : []),
  ];
  return names.filter((n) => SUPERVISED_NR[arch][n] !== undefined).map((n) => `sys=${SUPERVISED_NR[arch][n]}:${n}`);
}

/** Denied outright, with EPERM. */
/**
 * Kernel surface no sandboxed process and no proxy needs: the mount API,
 * io_uring, the key retention service, bpf, perf and kexec (the proxy's
 * program, lib/proxy/seccomp.ts, refuses these too).
 */
export const KERNEL_SURFACE = [
  'mount',
  'umount2',
  'pivot_root',
  'open_tree',
  'open_tree_attr',
  'move_mount',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'keyctl',
  'add_key',
  'request_key',
  'bpf',
  'perf_event_open',
  'kexec_load',
  'kexec_file_load',
] as const satisfies readonly Syscall[];

export const DENY_EPERM: Syscall[] = [...KERNEL_SURFACE, 'ptrace', 'process_vm_readv', 'process_vm_writev'];

const errno = (e: number) => (SECCOMP_RET.ERRNO | e) >>> 0;

/** The filter for `arch`: a list of classic-BPF instructions. */
export function buildSeccompFilter(arch: SeccompArch, sup: Supervision = { metadata: false, create: false }): Insn[] {
  const nr = SYSCALLS[arch];
  if (!nr) throw new Error(`seccomp: unsupported architecture ${arch}`);
  const snr = SUPERVISED_NR[arch];
  const supervising = isSupervising(sup);
  const a = new Asm();
  // 1. The architecture, before any number is interpreted.
  a.ld(DATA.arch).jeq(AUDIT_ARCH[arch], 0, 'kill');
  a.ld(DATA.nr);
  // 2. x32 shares AUDIT_ARCH_X86_64: its numbers carry bit 30.
  if (arch === 'x64') a.jge(X32_SYSCALL_BIT, 'kill');
  // 3. Dispatch on the number.
  a.jeq(nr.clone, supervising ? 'clone' : 'newuser');
  a.jeq(nr.unshare, supervising ? 'unshare' : 'newuser');
  a.jeq(nr.clone3, 'enosys');
  a.jeq(nr.socket, 'socket');
  a.jeq(nr.ioctl, 'ioctl');
  a.jeq(nr.fcntl, 'fcntl');
  for (const s of DENY_EPERM) a.jeq(nr[s], 'eperm');
  // Modes: each syscall to the label of the argument its mode is in.
  for (const [s, label] of SETID_MODE_ARGS) if (snr[s] !== undefined) a.jeq(snr[s]!, label);
  if (snr.open !== undefined) a.jeq(snr.open, 'open');
  a.jeq(snr.openat!, 'openat');
  a.jeq(nr.openat2, 'enosys');
  // truncate(path, length) changes an existing file like an open for writing does: with `writes`, init checks it.
  if (sup.writes && snr.truncate !== undefined) a.jeq(snr.truncate, 'notify');
  if (supervising) {
    a.jeq(nr.seccomp, 'seccomp');
    a.jeq(nr.userfaultfd, 'eperm'); // a fault on such a page would stall init reading the caller's memory
    for (const s of FS_STATE_SYSCALLS) if (s !== 'clone' && s !== 'unshare' && snr[s] !== undefined) a.jeq(snr[s]!, 'notify');
  }
  if (sup.metadata) {
    a.jeq(nr.file_setattr, 'enosys');
    for (const s of METADATA_SYSCALLS) if (!MODE_SYSCALLS.includes(s) && snr[s] !== undefined) a.jeq(snr[s]!, 'notify');
  } else if (sup.writes) {
    // An access ACL is a mode change (setfacl u::rwx on a hook is chmod u+x): init checks it as chmod.
    for (const s of XATTR_SYSCALLS) if (snr[s] !== undefined) a.jeq(snr[s]!, 'notify');
  }
  // Init performs these in the sandbox's base domain: a nested one would be skipped.
  if (sup.create || sup.rename || sup.sockets) a.jeq(nr.landlock_restrict_self, 'eperm');
  if (sup.rename && !sup.create) for (const s of RENAME_SYSCALLS) if (snr[s] !== undefined) a.jeq(snr[s]!, 'notify');
  if (sup.create) for (const s of CREATE_SYSCALLS) if (!MAKES_WITH_MODE.includes(s) && snr[s] !== undefined) a.jeq(snr[s]!, 'notify');
  if (sup.sockets) {
    // The address of connect and sendmsg is in memory BPF cannot read: all go
    // to init. sendto goes only with an address (send(2) is sendto without one).
    for (const s of SOCKET_RULE_SYSCALLS) if (s !== 'sendto' && snr[s] !== undefined) a.jeq(snr[s]!, 'notify');
    a.jeq(snr.sendto!, 'sendto');
  }
  a.ret(SECCOMP_RET.ALLOW);
  // clone(flags, ...) and unshare(flags): flags are arg0 on both x86_64 and
  // aarch64; clone uses only their low 32 bits, unshare rejects the high ones.
  a.label('newuser').ld(DATA.argLow(0)).jset(CLONE_NEWUSER, 'eperm', 'allow');
  if (supervising) {
    // Init caches each thread's umask and cwd, which threads of one process
    // share (CLONE_FS with CLONE_THREAD): it must hear of a thread made with
    // an fs_struct of its own, of a process made sharing its parent's, and of
    // unshare(CLONE_FS) (CLONE_NEWNS implies it).
    a.label('clone').ld(DATA.argLow(0)).jset(CLONE_NEWUSER, 'eperm');
    a.jset(CLONE_THREAD, 0, 'clone-process').jset(CLONE_FS, 'allow', 'notify');
    a.label('clone-process').jset(CLONE_FS, 'notify', 'allow');
    a.label('unshare')
      .ld(DATA.argLow(0))
      .jset(CLONE_NEWUSER, 'eperm')
      .jset(CLONE_FS | CLONE_NEWNS, 'notify', 'allow');
  }
  // socket(domain, type, protocol): domain is an int.
  a.label('socket').ld(DATA.argLow(0)).jeq(AF_VSOCK, 'eafnosupport', 'allow');
  // ioctl(fd, cmd, arg): the kernel takes cmd as an unsigned int, so compare
  // the low word only; a 64-bit compare misses TIOCSTI | 1 << 32.
  a.label('ioctl').ld(DATA.argLow(1)).jeq(TIOCSTI, 'eperm').jeq(TIOCLINUX, 'eperm');
  for (const cmd of [...BTRFS_SUBVOL_IOCTLS, ...REFUSED_FS_IOCTLS]) a.jeq(cmd, 'eperm');
  if (sup.metadata) for (const cmd of INODE_FLAG_IOCTLS) a.jeq(cmd, 'notify');
  a.ret(SECCOMP_RET.ALLOW);
  // fcntl(fd, cmd, arg): cmd is an unsigned int, so again the low word only.
  a.label('fcntl').ld(DATA.argLow(1)).jeq(F_SETLEASE, 'eperm').jeq(F_SETDELEG, 'eperm', 'allow');
  if (supervising) {
    // seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): no listener of its own.
    a.label('seccomp').ld(DATA.argLow(0)).jeq(SECCOMP_SET_MODE_FILTER, 0, 'allow');
    a.ld(DATA.argLow(1)).jset(SECCOMP_FILTER_FLAG_NEW_LISTENER, 'eperm', 'allow');
  }
  // chmod(path, mode), fchmod(fd, mode): arg 1; fchmodat(dirfd, path, mode[, flags]): arg 2.
  // With metadata or writes supervised (a hook made executable, a protected file's second name), all go to init.
  const modeToInit = sup.metadata || !!sup.writes;
  for (const arg of [1, 2]) {
    a.label(`chmod@${arg}`).ld(DATA.argLow(arg)).jset(S_ISUID, 'eperm');
    a.jset(S_ISGID, supervising ? 'notify' : 'eperm', modeToInit ? 'notify' : 'allow');
  }
  // mknod(path, mode, dev): arg 1; mknodat(dirfd, path, mode, dev): arg 2; creat(path, mode), an open for writing: arg 1.
  for (const arg of [1, 2])
    a.label(`make@${arg}`)
      .ld(DATA.argLow(arg))
      .jset(S_ISUID | S_ISGID, 'eperm', sup.create ? 'notify' : 'allow');
  a.label('creat@1')
    .ld(DATA.argLow(1))
    .jset(S_ISUID | S_ISGID, 'eperm', sup.create || sup.writes ? 'notify' : 'allow');
  // open(path, flags, mode), openat(dirfd, path, flags, mode): O_CREAT and
  // O_TMPFILE make a file with the mode; only O_CREAT makes a name; with
  // `writes`, an open that can change an existing file goes to init too.
  for (const [label, arg] of [
    ['open', 1],
    ['openat', 2],
  ] as const) {
    if (label === 'open' && snr.open === undefined) continue;
    a.label(label)
      .ld(DATA.argLow(arg))
      .jset(O_CREAT | O_TMPFILE_BIT, 0, `${label}-flags`);
    a.ld(DATA.argLow(arg + 1)).jset(S_ISUID | S_ISGID, 'eperm');
    a.label(`${label}-flags`).ld(DATA.argLow(arg));
    if (sup.writes) a.jset(O_CREAT, 'notify').jset(O_PATH, 'allow').jset(O_WRITES, 'notify', 'allow');
    else if (sup.create) a.jset(O_CREAT, 'notify', 'allow');
    else a.ret(SECCOMP_RET.ALLOW);
  }
  if (sup.sockets) {
    // sendto(fd, buf, len, flags, addr, addrlen): a NULL addr (both words zero) sends to the connected peer.
    a.label('sendto').ld(DATA.argLow(4)).jeq(0, 0, 'notify');
    a.ld(DATA.argHigh(4)).jeq(0, 'allow', 'notify');
  }
  a.label('allow').ret(SECCOMP_RET.ALLOW);
  if (supervising) a.label('notify').ret(SECCOMP_RET.USER_NOTIF);
  a.label('eperm').ret(errno(ERRNO.EPERM));
  a.label('enosys').ret(errno(ERRNO.ENOSYS));
  a.label('eafnosupport').ret(errno(ERRNO.EAFNOSUPPORT));
  a.label('kill').ret(SECCOMP_RET.KILL_PROCESS);
  return a.build();
}

/** The architecture we assemble for on this host; throws (fail closed) on any other. */
export function hostSeccompArch(arch: string = process.arch): SeccompArch {
  if (arch === 'x64' || arch === 'arm64') return arch;
  throw new Error(`sbx-native: no seccomp filter for architecture ${arch}; refusing to run unfiltered`);
}

/**
 * The fields of Supervision the filter depends on. lib/gen/seccomp-programs.ts
 * holds the program of every combination on every architecture, assembled by
 * buildSeccompFilter when `node scripts/gen-protocol.js` runs (assembling it
 * on each spawn cost about a millisecond of a CLI start).
 */
export const SUPERVISION_FLAGS = ['metadata', 'create', 'rename', 'sockets', 'writes'] as const;

/** The key of a supervision in SECCOMP_PROGRAMS: its set flags joined by '+', or 'none'. */
export function supervisionClass(sup: Supervision): string {
  // A field the table was not generated for would pick a program that ignores it.
  for (const k of Object.keys(sup)) {
    if (!(SUPERVISION_FLAGS as readonly string[]).includes(k))
      throw new Error(
        `seccomp: Supervision.${k} is not in SUPERVISION_FLAGS (lib/seccomp.ts): add it, then run node scripts/gen-protocol.js`,
      );
  }
  return SUPERVISION_FLAGS.filter((f) => sup[f]).join('+') || 'none';
}

/** Every combination of SUPERVISION_FLAGS: what the generator assembles a program for. */
export function supervisionClasses(): Supervision[] {
  const out: Supervision[] = [];
  for (let bits = 0; bits < 1 << SUPERVISION_FLAGS.length; bits++) {
    const sup: Supervision = { metadata: false, create: false, rename: false, sockets: false, writes: false };
    SUPERVISION_FLAGS.forEach((f, i) => {
      sup[f] = (bits & (1 << i)) !== 0;
    });
    out.push(sup);
  }
  return out;
}

/** The argument of the plan's `seccomp` step: the program in hex, from the generated table. */
export function seccompStepArg(arch: string = process.arch, sup: Supervision = { metadata: false, create: false }): string {
  const hex = SECCOMP_PROGRAMS[hostSeccompArch(arch)]?.[supervisionClass(sup)]?.();
  if (!hex)
    throw new Error(
      `sbx-native: no generated seccomp program for ${arch} ${supervisionClass(sup)} in lib/gen/seccomp-programs.ts; run node scripts/gen-protocol.js`,
    );
  return hex;
}
