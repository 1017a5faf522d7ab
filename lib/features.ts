// Kernel features that have an older way of doing the same job. Which way a
// sandbox takes is decided here, from the kernel's version, and travels in the
// plan (step arguments); the helper never falls back on its own. What an older
// way gives up is listed in the plan and in `child.enforcement.fallbacks`.

/** The kernel's major and minor version, from a release string such as "6.18.0-1-amd64". */
export function parseRelease(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) throw new Error(`cannot read the kernel version from ${JSON.stringify(release)}`);
  return [Number(m[1]), Number(m[2])];
}

const atLeast = (k: [number, number], major: number, minor: number) => k[0] > major || (k[0] === major && k[1] >= minor);

export interface KernelFeatures {
  /** SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19). */
  killableRecv: boolean;
  /** fchmodat2(2) with AT_EMPTY_PATH (6.6). */
  fchmodat2: boolean;
  /** SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6). */
  syncWakeUp: boolean;
  /** pidfd_open(PIDFD_THREAD) (6.9): init can tell a caller thread from a later one with its TID, so it may remember its umask and cwd. */
  threadPidfd: boolean;
}

export function kernelFeatures(kernel: [number, number]): KernelFeatures {
  return {
    killableRecv: atLeast(kernel, 5, 19),
    fchmodat2: atLeast(kernel, 6, 6),
    syncWakeUp: atLeast(kernel, 6, 6),
    threadPidfd: atLeast(kernel, 6, 9),
  };
}

/** What a supervised sandbox gives up on this kernel; empty on a current one. */
export function supervisorFallbacks(f: KernelFeatures): string[] {
  const out: string[] = [];
  if (!f.killableRecv) {
    out.push(
      'seccomp listener without WAIT_KILLABLE_RECV (kernel < 5.19): a signal that arrives while init performs a supervised call makes the command restart it',
    );
  }
  if (!f.fchmodat2) out.push('supervised chmod goes through /proc/self/fd (no fchmodat2 before kernel 6.6)');
  if (!f.syncWakeUp)
    out.push('supervised calls wake init on another CPU (no SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP before kernel 6.6): slower, not weaker');
  if (!f.threadPidfd)
    out.push(
      "init reads each caller's umask and cwd from /proc on every supervised call (no PIDFD_THREAD before kernel 6.9): slower, not weaker",
    );
  return out;
}
