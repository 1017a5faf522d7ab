// The network proxy's seccomp program (docs/threat-model.md, the proxy). The
// proxy parses what the sandbox sends, so a bug there must not give the
// sandbox a process on the host's network that can do more than proxy:
// installed by the proxy itself (lib/proxy/lockdown.ts) on all its threads,
// before it accepts a connection. Landlock (ops_proxy.cc) already narrows
// its files where the kernel has it; this holds at every level.
//
// Refused:
// - running anything (execve, execveat) and making processes (fork, vfork, a
//   clone without CLONE_THREAD or with a namespace flag; clone3, whose flags
//   BPF cannot read, gets ENOSYS and libc falls back to clone): EPERM;
// - touching another process: ptrace, process_vm_*, pidfd_*, kill and
//   rt_sigqueueinfo unless to itself, tgkill and rt_tgsigqueueinfo unless to
//   its own threads, tkill (its target cannot be checked): EPERM;
// - writing files: open/openat with O_WRONLY, O_RDWR, O_CREAT, O_TRUNC or
//   O_APPEND, and every call that makes, removes, renames or changes a name
//   or its metadata: EACCES, as Landlock answers (openat2 gets ENOSYS: its
//   flags are in memory BPF cannot read, and callers fall back to openat);
// - sockets other than IPv4, IPv6 and netlink (a unix socket would reach the
//   host's daemons): EAFNOSUPPORT; bind: EPERM (its listening sockets are made
//   for it; connects bind implicitly);
// - the mount API, namespaces, chroot, io_uring, bpf, perf_event_open, the
//   key retention service, modules, kexec, handles, fanotify, quotas, swap,
//   reboot, acct, userfaultfd, further seccomp filters: EPERM;
// - a foreign architecture or x32 numbers: kill.
// Everything else (memory, threads, epoll, reads, sockets' I/O, connect) is
// what Node and the tunnel thread need.
import { Asm, DATA, Insn } from '../bpf';
import { AUDIT_ARCH, CLONE_NEWUSER, CLONE_THREAD, CLONE_NEWNS, KERNEL_SURFACE, SECCOMP_RET, X32_SYSCALL_BIT } from '../seccomp';
import { PROXY_NR, ProxySyscall, SeccompArch } from '../gen/syscalls';

// asm-generic/errno-base.h, errno.h (identical on x86_64 and aarch64)
const EPERM = 1,
  EACCES = 13,
  ENOSYS = 38,
  EAFNOSUPPORT = 97;
// linux/socket.h
const AF_INET = 2,
  AF_INET6 = 10,
  AF_NETLINK = 16;
// asm-generic/fcntl.h: O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND (__O_TMPFILE needs O_WRONLY or O_RDWR)
const OPEN_WRITE = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000;
// linux/sched.h: CLONE_NEWCGROUP, NEWUTS, NEWIPC, NEWPID, NEWNET, with NEWNS and NEWUSER
const CLONE_NEW_ANY = CLONE_NEWNS | 0x02000000 | 0x04000000 | 0x08000000 | CLONE_NEWUSER | 0x20000000 | 0x40000000;

const REFUSED_EPERM: ProxySyscall[] = [
  ...(KERNEL_SURFACE satisfies readonly ProxySyscall[]),
  'execve',
  'execveat',
  'fork',
  'vfork',
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'pidfd_open',
  'pidfd_getfd',
  'pidfd_send_signal',
  'tkill',
  'unshare',
  'setns',
  'chroot',
  'init_module',
  'finit_module',
  'delete_module',
  'name_to_handle_at',
  'open_by_handle_at',
  'fanotify_init',
  'quotactl',
  'swapon',
  'swapoff',
  'reboot',
  'acct',
  'userfaultfd',
  'seccomp',
  'bind',
];

const REFUSED_EACCES: ProxySyscall[] = [
  'creat',
  'mkdir',
  'mkdirat',
  'mknod',
  'mknodat',
  'symlink',
  'symlinkat',
  'link',
  'linkat',
  'rename',
  'renameat',
  'renameat2',
  'unlink',
  'unlinkat',
  'rmdir',
  'truncate',
  'chmod',
  'fchmod',
  'fchmodat',
  'fchmodat2',
  'chown',
  'fchown',
  'lchown',
  'fchownat',
  'utime',
  'utimes',
  'utimensat',
  'futimesat',
  'setxattr',
  'lsetxattr',
  'fsetxattr',
  'removexattr',
  'lremovexattr',
  'fremovexattr',
  'setxattrat',
  'removexattrat',
  'file_setattr',
];

const ret = (e: number) => (SECCOMP_RET.ERRNO | e) >>> 0;

/** The proxy's program for `arch`, for the process `pid` (signals only to itself). */
export function buildProxyFilter(arch: SeccompArch, pid: number): Insn[] {
  const nr = PROXY_NR[arch];
  if (!nr || !AUDIT_ARCH[arch]) throw new Error(`seccomp: unsupported architecture ${arch}`);
  const a = new Asm();
  a.ld(DATA.arch).jeq(AUDIT_ARCH[arch], 0, 'kill');
  a.ld(DATA.nr);
  if (arch === 'x64') a.jge(X32_SYSCALL_BIT, 'kill');
  const at = (s: ProxySyscall, label: string) => {
    if (nr[s] !== undefined) a.jeq(nr[s]!, label);
  };
  at('clone', 'clone');
  at('clone3', 'enosys');
  at('openat2', 'enosys');
  at('socket', 'socket');
  at('open', 'open');
  at('openat', 'openat');
  at('kill', 'own-process');
  at('rt_sigqueueinfo', 'own-process');
  at('tgkill', 'own-process');
  at('rt_tgsigqueueinfo', 'own-process');
  for (const s of REFUSED_EPERM) at(s, 'eperm');
  for (const s of REFUSED_EACCES) at(s, 'eacces');
  a.ret(SECCOMP_RET.ALLOW);
  // clone(flags, ...): a thread, never a process or a namespace.
  a.label('clone').ld(DATA.argLow(0)).jset(CLONE_NEW_ANY, 'eperm').jset(CLONE_THREAD, 'allow', 'eperm');
  a.label('socket').ld(DATA.argLow(0)).jeq(AF_INET, 'allow').jeq(AF_INET6, 'allow').jeq(AF_NETLINK, 'allow', 'eafnosupport');
  a.label('open').ld(DATA.argLow(1)).jset(OPEN_WRITE, 'eacces', 'allow');
  a.label('openat').ld(DATA.argLow(2)).jset(OPEN_WRITE, 'eacces', 'allow');
  // kill(pid, sig), rt_sigqueueinfo(tgid, ...), tgkill(tgid, tid, sig), rt_tgsigqueueinfo(tgid, tid, ...): pid_t is an int.
  a.label('own-process')
    .ld(DATA.argLow(0))
    .jeq(pid >>> 0, 'allow', 'eperm');
  a.label('allow').ret(SECCOMP_RET.ALLOW);
  a.label('eperm').ret(ret(EPERM));
  a.label('eacces').ret(ret(EACCES));
  a.label('enosys').ret(ret(ENOSYS));
  a.label('eafnosupport').ret(ret(EAFNOSUPPORT));
  a.label('kill').ret(SECCOMP_RET.KILL_PROCESS);
  return a.build();
}
